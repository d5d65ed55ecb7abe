"""The officials' moderation queue for citizens' proposals.

Everything the citizen wrote is read-only. Decisions are made on pages of their own (accept,
reject, hide, show again: ``proposals.admin_pages``), each calling one service, which checks the
state and the official's jurisdiction again and writes the audit entry; hiding and showing again
are also actions on the list (``moderation.admin``), as for comments. Who supported a proposal is
never shown (there is no admin for supports), nor who wrote it.

Scoping: city-wide officials see every proposal; a gu's officials those for their gu.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from moderation.admin import HiddenFilter, HideableAdminMixin, official
from proposals import decisions
from proposals.admin_pages import DecisionPagesAdmin
from proposals.models import Proposal, ProposalImage, ProposalOption
from voting import scoping

# The moderation queue first, then what is still collecting support, then the decided.
QUEUE_ORDER = [
    Proposal.Status.UNDER_REVIEW,
    Proposal.Status.OPEN,
    Proposal.Status.ACCEPTED,
    Proposal.Status.REJECTED,
    Proposal.Status.EXPIRED,
]


def proposals_visible_to(user, queryset: QuerySet[Proposal]) -> QuerySet[Proposal]:
    if not (user.is_active and user.is_staff):
        return queryset.none()
    if scoping.is_city_wide(user):
        return queryset
    return queryset.filter(district_id=user.jurisdiction_id)


# --- Filters and inlines -----------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        labels = dict(Proposal.Status.choices)
        return [(status, labels[status]) for status in QUEUE_ORDER]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> QuerySet[Proposal]:
        if self.value() in Proposal.Status.values:
            return queryset.filter(status=self.value())
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ProposalOptionInline(ReadOnlyInline):
    model = ProposalOption
    fields = ("position", "label")
    readonly_fields = fields


class ProposalImageInline(ReadOnlyInline):
    model = ProposalImage
    fields = ("image", "alt")
    readonly_fields = fields


# --- The queue ---------------------------------------------------------------------------------


@admin.register(Proposal)
class ProposalAdmin(HideableAdminMixin, DecisionPagesAdmin):
    list_display = (
        "title",
        "status",
        "district",
        "support_count",
        "support_deadline",
        "reached_threshold_at",
        "is_hidden_display",
    )
    list_filter = (StatusFilter, HiddenFilter)
    actions = ("hide_selected", "unhide_selected")
    search_fields = ("title",)
    list_select_related = ("district",)
    inlines = [ProposalOptionInline, ProposalImageInline]
    fields = (
        "title",
        "description",
        "district",
        "duration_days",
        "status",
        "support_count",
        "support_deadline",
        "reached_threshold_at",
        "decided_at",
        "decided_by",
        "rejection_reason",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "poll_link",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Proposal]:
        # As ModelAdmin.get_queryset, but annotated before ordering by the annotation.
        queryset = self.model._default_manager.get_queryset().annotate(
            queue_rank=Case(
                *[When(status=status, then=Value(i)) for i, status in enumerate(QUEUE_ORDER)],
                default=Value(len(QUEUE_ORDER)),
                output_field=IntegerField(),
            )
        )
        queryset = queryset.order_by(*self.get_ordering(request))
        return proposals_visible_to(request.user, queryset)

    def get_ordering(self, request: HttpRequest):
        # Under review first, oldest in the queue first; then the newest of the rest.
        return ["queue_rank", "reached_threshold_at", "-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # citizens propose, through the app

    def has_delete_permission(self, request: HttpRequest, obj: Proposal | None = None) -> bool:
        return False  # hide instead: supporters and the audit log refer to it

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def hide_object(self, request: HttpRequest, obj: Proposal, reason: str) -> Proposal:
        return decisions.hide_proposal(proposal=obj, by=official(request), reason=reason)

    def unhide_object(self, request: HttpRequest, obj: Proposal, reason: str) -> Proposal:
        return decisions.unhide_proposal(proposal=obj, by=official(request), reason=reason)

    @admin.display(description=_("poll"))
    def poll_link(self, obj: Proposal) -> str:
        if obj.poll_id is None:
            return "—"
        url = reverse("admin:voting_poll_change", args=[obj.poll_id])
        return format_html('<a href="{}">#{}</a>', url, obj.poll_id)

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        extra_context = extra_context or {}
        proposal = self.get_object(request, unquote(object_id))
        if proposal is not None and self.has_change_permission(request, proposal):
            extra_context["moderation_links"] = self._moderation_links(proposal)
        # Nothing on this page is edited: decisions have their own pages.
        extra_context.update(
            show_save=False,
            show_save_and_continue=False,
            show_save_and_add_another=False,
            show_delete=False,
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def _moderation_links(self, proposal: Proposal) -> list[tuple[str, str]]:
        links = []
        if proposal.status == Proposal.Status.UNDER_REVIEW:
            if not proposal.is_hidden:
                links.append((gettext("Accept…"), self._url("accept", proposal)))
            links.append((gettext("Reject…"), self._url("reject", proposal)))
        if proposal.is_hidden:
            links.append((gettext("Show again…"), self._url("unhide", proposal)))
        else:
            links.append((gettext("Hide…"), self._url("hide", proposal)))
        return links

    def _url(self, name: str, proposal: Proposal) -> str:
        return reverse(f"admin:proposals_proposal_{name}", args=[proposal.pk])
