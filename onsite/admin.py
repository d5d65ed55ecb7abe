"""On-site sessions in the officials' admin: an official opens one for a poll of their
jurisdiction (place, window, optional circle) and opens its screen from here.

Scoping as for polls (voting.scoping): the list, the pages and the poll picker hold only the
polls the official may manage, so a posted id of another gu's poll is refused by the form. The
secret that signs the codes is never shown. Saving is mirrored into the audit log with the rest
of the admin's history (audit/admin_log.py).
"""

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from voting import scoping
from voting.admin.base import official_of
from voting.models import OnsiteSession, Poll


class OnsiteSessionForm(forms.ModelForm):
    class Meta:
        model = OnsiteSession
        fields = ("poll", "place", "starts_at", "ends_at", "latitude", "longitude", "radius_m")
        help_texts = {
            "latitude": _("Optional: the venue's centre, in degrees (e.g. 37.5663)."),
            "longitude": _("Optional: the venue's centre, in degrees (e.g. 126.9779)."),
            "radius_m": _(
                "Optional: with a centre, phones must be within this many metres to vote. Their "
                "position is checked and discarded, never stored."
            ),
        }

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", gettext("The session must end after it starts."))
        circle = [cleaned.get(name) for name in ("latitude", "longitude", "radius_m")]
        if any(part is not None for part in circle) and None in circle:
            raise forms.ValidationError(
                gettext("Give the centre (latitude, longitude) and the radius, or none of them.")
            )
        latitude, longitude, radius = circle
        if latitude is not None and not -90 <= latitude <= 90:
            self.add_error("latitude", gettext("A latitude is between -90 and 90."))
        if longitude is not None and not -180 <= longitude <= 180:
            self.add_error("longitude", gettext("A longitude is between -180 and 180."))
        if radius is not None and radius < 10:
            # Below a phone's usual accuracy, citizens standing at the screen would be refused.
            self.add_error("radius_m", gettext("A radius of at least 10 m."))
        return cleaned


@admin.register(OnsiteSession)
class OnsiteSessionAdmin(admin.ModelAdmin):
    form = OnsiteSessionForm
    list_display = ("place", "poll", "starts_at", "ends_at", "has_circle", "screen_link")
    list_select_related = ("poll",)
    search_fields = ("place", "poll__title")
    date_hierarchy = "starts_at"
    readonly_fields = ("created_by", "created_at", "screen_link")
    fieldsets = (
        (None, {"fields": ("poll", "place", "starts_at", "ends_at")}),
        (_("Location check (optional)"), {"fields": ("latitude", "longitude", "radius_m")}),
        (_("Screen"), {"fields": ("screen_link", "created_by", "created_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[OnsiteSession]:
        polls = scoping.polls_visible_to(official_of(request))
        return super().get_queryset(request).filter(poll__in=polls)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "poll":
            # Published polls of this official's jurisdiction that have not closed.
            kwargs["queryset"] = scoping.polls_visible_to(
                official_of(request),
                Poll.objects.filter(published=True, closes_at__gt=timezone.now()),
            ).order_by("closes_at")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: OnsiteSession | None = None):
        # A session's poll is fixed once it exists: its participations point at both.
        return (*self.readonly_fields, "poll") if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: OnsiteSession | None = None):
        if obj is not None and obj.participations.exists():
            return False  # ballots were cast there: the breakdowns keep naming it
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: OnsiteSession, form, change: bool) -> None:
        if not change:
            obj.created_by = official_of(request)
        super().save_model(request, obj, form, change)

    @admin.display(boolean=True, description=_("location check"))
    def has_circle(self, obj: OnsiteSession) -> bool:
        return obj.radius_m is not None

    @admin.display(description=_("screen"))
    def screen_link(self, obj: OnsiteSession) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("onsite:screen", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, gettext("Open the screen"))
