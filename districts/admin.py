import secrets

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from districts import managed_groups, phone_csv, services
from districts.forms import ConfirmMembersUploadForm, MembersUploadForm
from districts.models import District, Group, GroupMembership, PendingGroupMember, name_key

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


def _count_of(model, **filters) -> Coalesce:
    """A per-group count as a subquery: two counted joins would multiply each other's rows."""
    counted = (
        model.objects.filter(group=OuterRef("pk"), **filters)
        .order_by()
        .values("group")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(counted), 0)


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    """Groups, scoped like polls: a gu's officials manage their gu's groups only.

    City-wide groups are listed to a gu's officials read-only (their polls may target them);
    other gus' groups are not listed at all, and their URLs answer as for a missing group. Which
    uploaded numbers have an account (members vs pending places) is shown only to officials who
    may see phone numbers (``services.may_see_account_existence``); the others see one count.
    """

    list_display = ["name", "name_en", "kind", "jurisdiction", "is_active", "member_count"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["jurisdiction"]
    search_fields = ["name", "name_en"]
    fields = [
        "name",
        "name_en",
        "description",
        "kind",
        "jurisdiction",
        "is_active",
        "created_at",
        "member_count",
        "pending_count",
        "place_count",
    ]
    readonly_fields = ["created_at", "member_count", "pending_count", "place_count"]
    # Memberships are not editable here: an inline would list the members' accounts. Managed
    # groups get theirs from an uploaded CSV (upload_members_view); only counts are shown.
    inlines = [PendingGroupMemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                _member_count=_count_of(GroupMembership),
                _pending_count=_count_of(PendingGroupMember),
            )
            .annotate(_place_count=F("_member_count") + F("_pending_count"))
        )
        # Also what the changelist, the change/delete/history URLs, bulk actions and the
        # autocomplete of a poll's groups see: another gu's group is "does not exist".
        return services.groups_visible_to(request.user, queryset)

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or services.may_manage_group(user=request.user, group=obj))

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        # delete_selected asks per object too (get_deleted_objects), so a bulk delete that
        # includes a city-wide group is refused as a whole.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or services.may_manage_group(user=request.user, group=obj))

    def get_list_display(self, request: HttpRequest):
        if services.may_see_account_existence(request.user):
            return [*self.list_display, "pending_count"]
        return [field for field in self.list_display if field != "member_count"] + ["place_count"]

    def get_fields(self, request: HttpRequest, obj: Group | None = None):
        fields = list(super().get_fields(request, obj))
        counts = {"member_count", "pending_count", "place_count"}
        if obj is None:
            return [f for f in fields if f not in counts]
        if services.may_see_account_existence(request.user):
            return [f for f in fields if f != "place_count"]
        return [f for f in fields if f not in ("member_count", "pending_count")]

    def get_readonly_fields(self, request: HttpRequest, obj: Group | None = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Fixed once created: turning a self-declared group into a managed one would let an
            # upload replace the memberships citizens chose themselves.
            fields.append("kind")
        if not services.is_city_wide(request.user):
            # A gu's official's groups are their gu's (set in save_model).
            fields.append("jurisdiction")
        return fields

    def get_inlines(self, request: HttpRequest, obj: Group | None = None):
        # Its rows count the pending places: the split the official may not see.
        return self.inlines if services.may_see_account_existence(request.user) else []

    def save_model(self, request: HttpRequest, obj: Group, form, change: bool) -> None:
        if not change and not services.is_city_wide(request.user):
            obj.jurisdiction_id = request.user.jurisdiction_id
        super().save_model(request, obj, form, change)

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Group) -> int:
        count = getattr(obj, "_member_count", None)
        if count is None:
            count = obj.memberships.count() if obj.pk else 0
        return count

    @admin.display(description=_("pending members"), ordering="_pending_count")
    def pending_count(self, obj: Group) -> int:
        count = getattr(obj, "_pending_count", None)
        if count is None:
            count = obj.pending_members.count() if obj.pk else 0
        return count

    @admin.display(description=_("members (including pending)"), ordering="_place_count")
    def place_count(self, obj: Group) -> int:
        """Members and pending places together: unchanged by who has signed up."""
        return self.member_count(obj) + self.pending_count(obj)

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

        # Without the phone-number permission, one count only: members vs pending would tell
        # which uploaded numbers have an account (a one-row file would be an account lookup).
        detailed = services.may_see_account_existence(request.user)
        form = MembersUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            parsed = form.parsed
            report = managed_groups.preview_managed_group_members(
                group=group, phones=parsed.phones, by=request.user
            )
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
                    "detailed": detailed,
                    "report": report if detailed else None,
                    "places": report.places,
                    "places_before": report.places_before,
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
                "detailed": detailed,
                "member_count": self.member_count(group) if detailed else None,
                "pending_count": self.pending_count(group) if detailed else None,
                "place_count": self.place_count(group),
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
            report = managed_groups.set_managed_group_members(
                group=group, phones=payload["phones"], by=request.user
            )
        except managed_groups.NotManagedGroupError:
            messages.error(request, self._not_managed_message())
            return redirect(change_url)
        invalid = (payload["invalid_count"], payload["invalid_lines"])
        # The history is read by officials without the phone-number permission: one count only.
        self.log_change(request, group, self._summary(report, *invalid, detailed=False))
        detailed = services.may_see_account_existence(request.user)
        messages.success(request, self._summary(report, *invalid, detailed=detailed))
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
                "max_rows": phone_csv.MAX_PHONE_CSV_ROWS,
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
    def _summary(
        report: managed_groups.MembershipReport,
        invalid_count: int,
        lines: list[int],
        *,
        detailed: bool,
    ) -> str:
        """Counts and line numbers only: this goes to the page and to the admin history.

        ``detailed`` splits members from pending places, which says who has an account: only
        for officials who may see phone numbers, never in the shared history.
        """
        if detailed:
            text = gettext(
                "Members set: %(members)s members, %(pending)s pending (they join on sign-up), "
                "%(removed)s removed."
            ) % {"members": report.members, "pending": report.pending, "removed": report.removed}
        else:
            text = gettext(
                "Members set: %(places)s phone numbers, members and pending together "
                "(%(before)s before)."
            ) % {"places": report.places, "before": report.places_before}
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


# The population tables' page lives beside the importer (registered on import).
from districts import population_admin  # noqa: E402, F401
