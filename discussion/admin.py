"""Officials' moderation of comments: reported ones first, hidden with a reason the author reads.

Scoping as for polls: a gu's officials see only comments on polls inside their gu
(``voting.scoping``) and on proposals for their gu. Officials hide and show comments again, with
the actions of ``moderation.admin`` (audited); they never edit nor delete what citizens wrote. The
author is shown by the thread's pseudonym only, as citizens see it.
"""

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from discussion.models import Comment, CommentReport
from discussion.serializers import pseudonym
from moderation.admin import HiddenFilter, HideableAdminMixin
from voting import scoping


def comments_visible_to(user, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    """The comments an official may moderate."""
    if not (user.is_active and user.is_staff):
        return queryset.none()
    if scoping.is_city_wide(user):
        return queryset
    polls = scoping.polls_visible_to(user).values("pk")
    return queryset.filter(Q(poll_id__in=polls) | Q(proposal__district_id=user.jurisdiction_id))


class ReportedFilter(admin.SimpleListFilter):
    title = _("reports")
    parameter_name = "reported"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return (("yes", _("reported")), ("no", _("not reported")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.value() == "yes":
            return queryset.filter(report_count__gt=0)
        if self.value() == "no":
            return queryset.filter(report_count=0)
        return queryset


class SubjectFilter(admin.SimpleListFilter):
    title = _("about")
    parameter_name = "subject"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return (("poll", _("polls")), ("proposal", _("proposals")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
        if self.value() == "poll":
            return queryset.filter(poll__isnull=False)
        if self.value() == "proposal":
            return queryset.filter(proposal__isnull=False)
        return queryset


class ReportInline(admin.TabularInline):
    model = CommentReport
    fields = ("reason", "note", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Comment)
class CommentAdmin(HideableAdminMixin, admin.ModelAdmin):
    list_display = (
        "excerpt",
        "subject",
        "report_count",
        "like_count",
        "is_hidden_display",
        "created_at",
    )
    list_filter = (ReportedFilter, HiddenFilter, SubjectFilter, "reports__reason", "created_at")
    search_fields = ("body", "poll__title", "proposal__title")
    ordering = ("-report_count", "-created_at", "-id")
    list_select_related = ("poll", "proposal")
    actions = ("hide_selected", "unhide_selected")
    fields = (
        "body",
        "subject",
        "author_pseudonym",
        "parent",
        "created_at",
        "like_count",
        "report_count",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "deleted_at",
    )
    readonly_fields = fields
    inlines = [ReportInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        queryset = super().get_queryset(request).select_related("poll", "proposal")
        return comments_visible_to(request.user, queryset).distinct()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False  # officials hide; only the author deletes

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("comment"))
    def excerpt(self, obj: Comment) -> str:
        if obj.deleted_at:
            return gettext("(deleted by its author)")
        return obj.body[:80] + ("…" if len(obj.body) > 80 else "")

    @admin.display(description=_("about"))
    def subject(self, obj: Comment):
        if obj.poll_id:
            url = reverse("admin:voting_poll_change", args=[obj.poll_id])
            return format_html('{}: <a href="{}">{}</a>', gettext("poll"), url, obj.poll)
        try:
            url = reverse("admin:proposals_proposal_change", args=[obj.proposal_id])
        except Exception:  # the proposals admin may not be registered
            return format_html("{}: {}", gettext("proposal"), obj.proposal)
        return format_html('{}: <a href="{}">{}</a>', gettext("proposal"), url, obj.proposal)

    @admin.display(description=_("author"))
    def author_pseudonym(self, obj: Comment) -> str:
        return pseudonym(obj) or "—"
