"""The poll list's status filter, and the district picker limited to what the official may
target (voting.scoping)."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voting import scoping
from voting.admin.base import official_of
from voting.models import Poll


class StatusFilter(admin.SimpleListFilter):
    """Draft / upcoming / open / closed, computed in the query from the schedule."""

    title = _("status")
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return Poll.Status.choices

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
        return queryset


class TargetableDistrictsView(AutocompleteJsonView):
    """The admin's autocomplete, offering only the districts the official may target."""

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        targetable = scoping.targetable_districts(official_of(self.request)).values("pk")
        return queryset.filter(pk__in=targetable)


class TargetableDistrictsWidget(AutocompleteSelectMultiple):
    def get_url(self) -> str:
        return reverse(f"{self.admin_site.name}:voting_poll_district_autocomplete")
