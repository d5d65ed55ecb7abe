import secrets

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from districts import services
from districts.forms import ConfirmMembersUploadForm, MembersUploadForm
from districts.models import District, Group, PendingGroupMember, name_key

# A previewed upload waits in the cache (shared through Redis in production) until confirmed:
# the phone numbers never travel back to the browser. It expires by itself if never confirmed.
UPLOAD_CACHE_PREFIX = "districts:group-members-upload:"
UPLOAD_CACHE_SECONDS = 30 * 60
# The preview lists this many invalid lines; the rest are counted.
INVALID_LINES_SHOWN = 200
# The confirmation message (and the admin history) names this many skipped lines.
INVALID_LINES_IN_MESSAGE = 20


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name_ko", "name_en", "level", "parent", "is_active"]
    list_filter = ["level", "is_active"]
    list_select_related = ["parent"]
    # search_key makes the autocomplete (e.g. a citizen's residence) find 창신제1동 by "창신1동".
    search_fields = ["code", "name_ko", "name_en", "search_key"]
    autocomplete_fields = ["parent"]
    ordering = ["code"]
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: District | None = None):
        # A code is the district's identity: polls, ballots and residences point at it.
        return ["code"] if obj is not None else []

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        # Keep the list filters / autocomplete restrictions already applied to ``queryset``.
        base = queryset
        queryset, may_have_duplicates = super().get_search_results(request, base, search_term)
        # The default search compares the typed text as is; "종로1·2·3·4가동" only matches the
        # official 종로1.2.3.4가동 once normalised like search_key.
        key = name_key(search_term)
        if key:
            queryset |= base.filter(search_key__contains=key)
        return queryset, may_have_duplicates

    def has_delete_permission(self, request: HttpRequest, obj: District | None = None) -> bool:
        # Retired districts are deactivated, never deleted: old polls and ballots refer to them.
        return False


PENDING_INLINE_ROWS = 20


class LatestPendingFormSet(BaseInlineFormSet):
    """Only the latest places: an uploaded group may keep tens of thousands (the count is shown)."""

    def get_queryset(self) -> QuerySet:
        if not getattr(self, "_capped", False):
            self._queryset = (
                super().get_queryset().order_by("-added_at", "-pk")[:PENDING_INLINE_ROWS]
            )
            self._capped = True
        return self._queryset


class PendingGroupMemberInline(admin.TabularInline):
    """When the latest places were kept; the phone numbers themselves are not shown."""

    model = PendingGroupMember
    formset = LatestPendingFormSet
    fields = ["added_at"]
    readonly_fields = ["added_at"]
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("latest pending members (phone numbers hidden)")

    def has_add_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "kind", "is_active", "member_count"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "name_en"]
    fields = [
        "name",
        "name_en",
        "description",
        "kind",
        "is_active",
        "created_at",
        "member_count",
        "pending_count",
    ]
    readonly_fields = ["created_at", "member_count", "pending_count"]
    # Memberships are not editable here: an inline would list the members' accounts. Managed
    # groups get theirs from an uploaded CSV (upload_members_view); only counts are shown.
    inlines = [PendingGroupMemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(_member_count=Count("memberships", distinct=True))
        )

    def get_fields(self, request: HttpRequest, obj: Group | None = None):
        fields = list(super().get_fields(request, obj))
        if obj is None:
            return [f for f in fields if f not in ("member_count", "pending_count")]
        return fields

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Group) -> int:
        count = getattr(obj, "_member_count", None)
        if count is None:
            count = obj.memberships.count() if obj.pk else 0
        return count

    @admin.display(description=_("pending members"))
    def pending_count(self, obj: Group) -> int:
        return obj.pending_members.count() if obj.pk else 0

    # --- Members from a CSV upload (managed groups) ------------------------------------------

    def get_urls(self):
        opts = self.opts
        return [
            path(
                "<path:object_id>/upload-members/",
                self.admin_site.admin_view(self.upload_members_view),
                name=f"{opts.app_label}_{opts.model_name}_upload_members",
            ),
            *super().get_urls(),
        ]

    def upload_members_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Upload → preview (counts, invalid lines) → confirm → members set.

        Invalid rows never block the upload: the preview lists them by line number, and the
        confirmation applies the valid rows only. Nothing changes before the confirmation.
        """
        group = self.get_object(request, unquote(object_id))
        if group is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, group):
            raise PermissionDenied
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[group.pk],
            current_app=self.admin_site.name,
        )
        if group.kind != Group.Kind.MANAGED:
            messages.error(request, self._not_managed_message())
            return redirect(change_url)

        if request.method == "POST" and "token" in request.POST:
            return self._confirm_upload(request, group, change_url)

        form = MembersUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            parsed = form.parsed
            report = services.preview_managed_group_members(group=group, phones=parsed.phones)
            token = secrets.token_urlsafe(24)
            invalid_lines = [row.line for row in parsed.invalid]
            cache.set(
                UPLOAD_CACHE_PREFIX + token,
                {
                    "group": group.pk,
                    "user": request.user.pk,
                    "phones": parsed.phones,
                    "invalid_count": len(invalid_lines),
                    "invalid_lines": invalid_lines[:INVALID_LINES_IN_MESSAGE],
                },
                UPLOAD_CACHE_SECONDS,
            )
            return self._render_upload(
                request,
                group,
                "admin/districts/group/upload_members_preview.html",
                {
                    "title": gettext("Check the members of %(group)s") % {"group": group},
                    "parsed": parsed,
                    "report": report,
                    "valid_count": len(parsed.phones),
                    "invalid_rows": parsed.invalid[:INVALID_LINES_SHOWN],
                    "invalid_more": max(0, len(parsed.invalid) - INVALID_LINES_SHOWN),
                    "confirm_form": ConfirmMembersUploadForm(initial={"token": token}),
                    "change_url": change_url,
                },
            )
        return self._render_upload(
            request,
            group,
            "admin/districts/group/upload_members.html",
            {
                "title": gettext("Upload the members of %(group)s") % {"group": group},
                "form": form,
                "member_count": self.member_count(group),
                "pending_count": self.pending_count(group),
                "change_url": change_url,
            },
        )

    def _confirm_upload(self, request: HttpRequest, group: Group, change_url: str) -> HttpResponse:
        upload_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_upload_members",
            args=[group.pk],
            current_app=self.admin_site.name,
        )
        form = ConfirmMembersUploadForm(request.POST)
        key = UPLOAD_CACHE_PREFIX + form.cleaned_data["token"] if form.is_valid() else None
        payload = cache.get(key) if key else None
        if not payload or payload["group"] != group.pk or payload["user"] != request.user.pk:
            messages.error(
                request,
                _("This upload has expired or was already applied. Upload the file again."),
            )
            return redirect(upload_url)
        cache.delete(key)
        try:
            report = services.set_managed_group_members(group=group, phones=payload["phones"])
        except services.NotManagedGroupError:
            messages.error(request, self._not_managed_message())
            return redirect(change_url)
        summary = self._summary(report, payload["invalid_count"], payload["invalid_lines"])
        self.log_change(request, group, summary)
        messages.success(request, summary)
        return redirect(change_url)

    def _render_upload(
        self, request: HttpRequest, group: Group, template: str, context: dict
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": group,
                "has_view_permission": self.has_view_permission(request, group),
                "max_rows": services.MAX_PHONE_CSV_ROWS,
                **context,
            },
        )

    @staticmethod
    def _not_managed_message() -> str:
        return gettext(
            "Citizens join self-declared groups themselves: members can be uploaded only to "
            "groups managed by officials."
        )

    @staticmethod
    def _summary(report: services.MembershipReport, invalid_count: int, lines: list[int]) -> str:
        """Counts and line numbers only: this goes to the page and to the admin history."""
        text = gettext(
            "Members set: %(members)s members, %(pending)s pending (they join on sign-up), "
            "%(removed)s removed."
        ) % {"members": report.members, "pending": report.pending, "removed": report.removed}
        if invalid_count:
            shown = ", ".join(str(line) for line in lines)
            if invalid_count > len(lines):
                shown += ", …"
            text += " " + ngettext(
                "%(count)s invalid line was skipped (line %(lines)s).",
                "%(count)s invalid lines were skipped (lines %(lines)s).",
                invalid_count,
            ) % {"count": invalid_count, "lines": shown}
        return text
