"""The officials' read-only list of texts sent through a real provider: outcome, provider's id
and code, what each cost. Rows are written by the delivery task only; nobody edits or deletes
them here (they are the record of what the city paid for)."""

from django.contrib import admin
from django.http import HttpRequest

from accounts.sms_records import SMSDelivery


@admin.register(SMSDelivery)
class SMSDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "queued_at",
        "provider",
        "status",
        "attempts",
        "kind",
        "cost",
        "error_code",
        "provider_message_id",
    ]
    list_filter = ["status", "provider", "kind"]
    # The recipient's keyed hash: an operator looks a citizen up with recipient_key(number).
    search_fields = ["=recipient", "=provider_message_id"]
    date_hierarchy = "queued_at"
    ordering = ["-queued_at", "-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
