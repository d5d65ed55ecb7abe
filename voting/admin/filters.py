"""The poll list's status filter, and the district picker limited to what the official may
target (voting.scoping), labelled "강남구 신사동" and ordered best match first."""

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.db.models import Case, IntegerField, Model, Q, QuerySet, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from districts.models import District, name_key
from voting import scoping
from voting.admin.base import official_of
from voting.models import Poll

# Closed, no outcome recorded yet: the officials' home links its list here (voting/admin/home.py).
AWAITING_OUTCOME = "awaiting_outcome"


class StatusFilter(admin.SimpleListFilter):
    """Draft / upcoming / open / closed (and closed awaiting the outcome), computed in the query
    from the schedule."""

    title = _("status")
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [*Poll.Status.choices, (AWAITING_OUTCOME, _("closed, awaiting the outcome"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Poll]) -> QuerySet[Poll]:
        now = timezone.now()
        value = self.value()
        if value == Poll.Status.DRAFT:
            return queryset.filter(published=False)
        if value == Poll.Status.UPCOMING:
            return queryset.filter(published=True, opens_at__gt=now)
        if value == Poll.Status.OPEN:
            return queryset.filter(published=True, opens_at__lte=now, closes_at__gt=now)
        if value == Poll.Status.CLOSED:
            return queryset.filter(published=True, closes_at__lte=now)
        if value == AWAITING_OUTCOME:
            return queryset.filter(published=True, closes_at__lte=now, outcome__isnull=True)
        return queryset


def district_label(district: District) -> str:
    """How officials tell districts apart: "강남구 신사동" (two gus have a 신사동), "강남구"
    for a gu, "서울특별시 전체" for the city. A dong's gu is its ``parent``: select it."""
    if district.level == District.Level.CITY:
        return gettext("%(city)s (all of it)") % {"city": district.name_ko}
    if district.level == District.Level.DONG and district.parent is not None:
        return f"{district.parent.name_ko} {district.name_ko}"
    return district.name_ko


def _search(queryset: QuerySet[District], term: str) -> QuerySet[District]:
    """Every word must match the district's name (normalised like ``search_key``), its code or
    its gu's name ("강남 신사"); the best match first: the exact name, then names starting with
    the text, then names containing it, then dongs found by their gu's name."""
    words = term.split()
    if not words:
        # Nothing typed: the gus, then the dongs gu by gu; all of Seoul is found by its name.
        level = Case(
            When(level=District.Level.GU, then=0),
            When(level=District.Level.DONG, then=1),
            default=2,
            output_field=IntegerField(),
        )
        return queryset.annotate(level_rank=level).order_by("level_rank", "code")
    for word in words:
        key = name_key(word)
        match = Q(code__startswith=word) if word.isdigit() else Q(pk__in=[])
        if key:
            in_gu = Q(level=District.Level.DONG, parent__search_key__contains=key)
            match |= Q(search_key__contains=key) | in_gu
        queryset = queryset.filter(match)
    key = name_key(words[-1])
    rank = Case(
        When(Q(search_key__startswith=f"{key} ") | Q(search_key__endswith=f" {key}"), then=0),
        When(Q(search_key__startswith=key) | Q(search_key__contains=f" {key}"), then=1),
        When(search_key__contains=key, then=2),
        default=3,
        output_field=IntegerField(),
    )
    return queryset.annotate(match_rank=rank).order_by("match_rank", "code")


class TargetableDistrictsView(AutocompleteJsonView):
    """The admin's autocomplete, offering only the districts the official may target, labelled
    with their gu (``district_label``) and the best match first (``_search``)."""

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.model_admin.get_queryset(self.request).select_related("parent")
        targetable = scoping.targetable_districts(official_of(self.request)).values("pk")
        return _search(queryset.filter(pk__in=targetable), self.term)

    def serialize_result(self, obj: Model, to_field_name: str) -> dict[str, str]:
        return {"id": str(getattr(obj, to_field_name)), "text": district_label(cast(District, obj))}


class TargetableDistrictsWidget(AutocompleteSelectMultiple):
    def get_url(self) -> str:
        return reverse(f"{self.admin_site.name}:voting_poll_district_autocomplete")


class DistrictChoiceField(forms.ModelMultipleChoiceField):
    """The picker's chosen districts, labelled as its search results are (``district_label``)."""

    def __init__(self, queryset: QuerySet[District], **kwargs: Any) -> None:
        super().__init__(queryset.select_related("parent"), **kwargs)

    def label_from_instance(self, obj: District) -> str:
        return district_label(obj)


class DepartmentFilter(admin.AllValuesFieldListFilter):
    """The stock filter, with polls of no department named: Django draws the empty value as a
    link with no text, which no one can read (and screen readers announce as nothing)."""

    def choices(self, changelist: Any):
        for choice in super().choices(changelist):
            if choice["display"] == "":
                choice = {**choice, "display": _("(no department)")}
            yield choice
