"""Officials' side of the assisted channel: issuing visit PINs, and the operators' alerts."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from assisted import pins
from assisted.models import OperatorAlert, VisitPin


class VisitPinForm(forms.ModelForm):
    official: User  # set by VisitPinAdmin.get_form

    class Meta:
        model = VisitPin
        fields = ("citizen", "name", "place")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        citizen = cleaned.get("citizen")
        if citizen is not None:
            pins.check_issuable(official=self.official, citizen=citizen)
        return cleaned


@admin.register(VisitPin)
class VisitPinAdmin(admin.ModelAdmin):
    """An official who has checked the citizen's ID at the counter issues the PIN here; it is
    shown once, in the confirmation, to be printed or written down for the citizen."""

    list_display = (
        "__str__",
        "citizen",
        "place",
        "issued_by",
        "issued_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    raw_id_fields = ("citizen",)
    fields = ("citizen", "name", "place")
    form = VisitPinForm
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[VisitPin]:
        # A gu's official sees (and revokes) the PINs of their gu's citizens only.
        return pins.pins_visible_to(official=cast(User, request.user)).select_related(
            "citizen", "issued_by"
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.official = cast(User, request.user)  # type: ignore[attr-defined]
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: VisitPin | None = None) -> Any:
        return ("citizen", "name", "place") if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: VisitPin | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: VisitPin | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: VisitPin, form: Any, change: bool) -> None:
        visit_pin, pin = pins.issue_pin(
            official=cast(User, request.user), citizen=obj.citizen, name=obj.name, place=obj.place
        )
        obj.pk = visit_pin.pk
        obj._state.adding = False
        self.message_user(
            request,
            _(
                "PIN for citizen #%(citizen)s: %(pin)s. Give it to the citizen now: it is not "
                "shown again."
            )
            % {"citizen": obj.citizen_id, "pin": pin},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected PINs"), permissions=["add"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[VisitPin]) -> None:
        for visit_pin in queryset.filter(revoked_at__isnull=True):
            pins.revoke_pin(official=cast(User, request.user), visit_pin=visit_pin)


@admin.register(OperatorAlert)
class OperatorAlertAdmin(admin.ModelAdmin):
    list_display = ("at", "operator", "ballots_last_hour", "centre_median")
    list_filter = ("at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
