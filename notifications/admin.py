"""Operators' view of the outbox: what was announced, to how many, and whether it is done.

Read-only, and without names: who received what is personal data and stays out of the admin.
"""

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from notifications.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "subject_id",
        "recipients",
        "unpushed",
        "fanned_out_at",
    )
    list_filter = ("kind",)
    date_hierarchy = "created_at"
    fields = ("kind", "subject_id", "dedupe_key", "created_at", "recipients", "fanned_out_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxEvent]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _unpushed=Count("notifications", filter=Q(notifications__pushed_at__isnull=True))
            )
        )

    @admin.display(description=_("waiting to be pushed"), ordering="_unpushed")
    def unpushed(self, obj: OutboxEvent) -> int:
        return int(getattr(obj, "_unpushed", 0))  # annotated by get_queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False
