"""The officials' moderation queue for citizens' proposals.

Everything the citizen wrote is read-only. Decisions are made on pages of their own (accept,
reject, hide, show again), each calling one service, which checks the state and the official's
jurisdiction again and writes the audit entry. Who supported a proposal is never shown (there
is no admin for supports), nor who wrote it.

Scoping: city-wide officials see every proposal; a gu's officials those for their gu.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError as ApiValidationError

from core.errors import ApiError
from proposals import services
from proposals.models import (
    MAX_DESCRIPTION,
    MAX_REASON,
    MAX_TITLE,
    Proposal,
    ProposalImage,
    ProposalOption,
)
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


# --- Forms of the decision pages ----------------------------------------------------------------


class AcceptForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=MAX_TITLE)
    description = forms.CharField(
        label=_("description"), max_length=MAX_DESCRIPTION, widget=forms.Textarea
    )
    options = forms.CharField(
        label=_("options"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("One option per line, 2 to 10."),
    )
    opens_at = forms.DateTimeField(
        label=_("opens at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    closes_at = forms.DateTimeField(
        label=_("closes at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean_options(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["options"].splitlines() if line.strip()]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class OptionalReasonForm(ReasonForm):
    reason = forms.CharField(
        label=_("reason"),
        max_length=MAX_REASON,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _form_errors(form: forms.Form, exc: ApiValidationError) -> None:
    """The service's field errors shown on the form's fields (or above it)."""
    detail = exc.detail if isinstance(exc.detail, dict) else {None: exc.detail}
    for field, errors in detail.items():
        target = field if field in form.fields else None
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(target, str(error))


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


class HiddenFilter(admin.SimpleListFilter):
    title = _("hidden")
    parameter_name = "hidden"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return [("yes", _("hidden")), ("no", _("visible"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> QuerySet[Proposal]:
        if self.value() == "yes":
            return queryset.filter(hidden_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(hidden_at__isnull=True)
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
class ProposalAdmin(admin.ModelAdmin):
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

    @admin.display(description=_("hidden"), boolean=True)
    def is_hidden_display(self, obj: Proposal) -> bool:
        return obj.hidden_at is not None

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

    # --- Decision pages ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/accept/", wrap(self.accept_view), name="proposals_proposal_accept"
            ),
            path(
                "<path:object_id>/reject/", wrap(self.reject_view), name="proposals_proposal_reject"
            ),
            path("<path:object_id>/hide/", wrap(self.hide_view), name="proposals_proposal_hide"),
            path(
                "<path:object_id>/unhide/", wrap(self.unhide_view), name="proposals_proposal_unhide"
            ),
            *super().get_urls(),
        ]

    def _proposal_for_decision(self, request: HttpRequest, object_id: str) -> Proposal:
        proposal = self.get_object(request, unquote(object_id))
        if proposal is None:
            raise Http404(gettext("No such proposal."))
        if not self.has_change_permission(request, proposal):
            raise PermissionDenied
        return proposal

    def _change_url(self, proposal: Proposal) -> str:
        return reverse("admin:proposals_proposal_change", args=[proposal.pk])

    def _render(
        self, request: HttpRequest, proposal: Proposal, form: forms.Form, title: str, submit: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "original": proposal,
            "proposal": proposal,
            "form": form,
            "submit_label": submit,
            "change_url": self._change_url(proposal),
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/proposals/proposal/decision.html", context)

    def _decide(self, request: HttpRequest, form: forms.Form, call) -> object | None:
        """Run the service if the form is valid; its refusals become form errors."""
        if not form.is_valid():
            return None
        try:
            return call(form.cleaned_data)
        except ApiValidationError as exc:
            _form_errors(form, exc)
        except ApiError as exc:
            form.add_error(None, str(exc.detail))
        return None

    def accept_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        proposal = self._proposal_for_decision(request, object_id)
        labels = list(proposal.options.values_list("label", flat=True))
        if request.method == "POST":
            form = AcceptForm(request.POST)
            poll = self._decide(
                request,
                form,
                lambda data: services.accept_proposal(
                    proposal=proposal,
                    by=request.user,
                    title=data["title"],
                    description=data["description"],
                    options=data["options"],
                    opens_at=data["opens_at"],
                    closes_at=data["closes_at"],
                ),
            )
            if poll is not None:
                self.message_user(
                    request,
                    gettext("“%(title)s” accepted: review the draft poll and publish it.")
                    % {"title": proposal.title},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:voting_poll_change", args=[poll.pk]))
        else:
            start = timezone.localtime().replace(minute=0, second=0, microsecond=0)
            start += timedelta(days=7)
            form = AcceptForm(
                initial={
                    "title": proposal.title,
                    "description": proposal.description,
                    "options": "\n".join(labels),
                    "opens_at": start.strftime("%Y-%m-%dT%H:%M"),
                    "closes_at": (start + timedelta(days=proposal.duration_days)).strftime(
                        "%Y-%m-%dT%H:%M"
                    ),
                }
            )
        return self._render(
            request,
            proposal,
            form,
            gettext("Accept “%(title)s” as a draft poll") % {"title": proposal.title},
            gettext("Create the draft poll"),
        )

    def _reason_view(
        self,
        request: HttpRequest,
        object_id: str,
        *,
        service,
        form_class: type[forms.Form],
        title: str,
        submit: str,
        done: str,
    ) -> HttpResponse:
        proposal = self._proposal_for_decision(request, object_id)
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            result = self._decide(
                request,
                form,
                lambda data: service(proposal=proposal, by=request.user, reason=data["reason"]),
            )
            if result is not None:
                self.message_user(request, f"“{proposal.title}”: {done}", messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(proposal))
        return self._render(request, proposal, form, title % {"title": proposal.title}, submit)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._reason_view(
            request,
            object_id,
            service=services.reject_proposal,
            form_class=ReasonForm,
            title=gettext("Reject “%(title)s”: the reason is public"),
            submit=gettext("Reject"),
            done=gettext("rejected."),
        )

    def hide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._reason_view(
            request,
            object_id,
            service=services.hide_proposal,
            form_class=ReasonForm,
            title=gettext("Hide “%(title)s”: its author sees the reason"),
            submit=gettext("Hide"),
            done=gettext("hidden."),
        )

    def unhide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._reason_view(
            request,
            object_id,
            service=services.unhide_proposal,
            form_class=OptionalReasonForm,
            title=gettext("Show “%(title)s” again"),
            submit=gettext("Show again"),
            done=gettext("shown again."),
        )
