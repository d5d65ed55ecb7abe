"""The audit log in the admin: read-only (the log is append-only, and only services write it).

City-wide officials read every entry; a gu's official reads the entries whose subject a producer
lets them see (audit/subjects.py): their gu's polls and proposals, comments on those, ...
"""

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit import subjects
from audit.models import AuditEntry
from districts.services import is_city_wide


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = (
        "seq",
        "at",
        "actor_name",
        "action",
        "subject_type",
        "subject_id",
        "title",
    )
    list_filter = ("action", "subject_type")
    search_fields = ("title", "actor_name")
    date_hierarchy = "at"
    fields = (
        "seq",
        "at",
        "actor_name",
        "action",
        "subject_type",
        "subject_id",
        "subject_link",
        "title",
        "changes_pretty",
        # The chain (audit/chain.py): `manage.py verify_audit` checks it.
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        queryset = super().get_queryset(request)
        user = request.user
        if is_city_wide(user):
            return queryset
        return queryset.filter(subjects.visible_to(user))  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    @admin.display(description=_("subject"))
    def subject_link(self, obj: AuditEntry) -> str:
        url = subjects.admin_url(obj.subject_type, obj.subject_id)
        if url is None:
            return "—"
        return format_html('<a href="{}">#{}</a>', url, obj.subject_id)

    @admin.display(description=_("changes"))
    def changes_pretty(self, obj: AuditEntry) -> str:
        text = json.dumps(obj.changes, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre class="audit-changes">{}</pre>', text)
