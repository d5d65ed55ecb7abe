"""The pages of officials' decisions on one proposal: accept, reject, hide, show again.

Each page is a form that calls one service (``proposals.decisions``): the service checks the
state and the official's jurisdiction again and writes the audit entry; its refusals come back
as form errors. ``ProposalAdmin`` mixes these pages in.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError as ApiValidationError

from core.errors import ApiError
from moderation.admin import ReasonForm as ModerationReasonForm
from moderation.admin import official
from proposals import decisions
from proposals.models import MAX_DESCRIPTION, MAX_REASON, MAX_TITLE, Proposal


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


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _form_errors(form: forms.Form, exc: ApiValidationError) -> None:
    """The service's field errors shown on the form's fields (or above it)."""
    detail = exc.detail if isinstance(exc.detail, dict) else {None: exc.detail}
    for field, errors in detail.items():
        target = field if field in form.fields else None
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(target, str(error))


class DecisionPagesAdmin(admin.ModelAdmin):
    """``ProposalAdmin``'s base: the URLs and views of the decision pages."""

    def get_urls(self) -> list[URLPattern]:
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

    def _decide(
        self, request: HttpRequest, form: forms.Form, call: Callable[[dict[str, Any]], Any]
    ) -> Any:
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
                lambda data: decisions.accept_proposal(
                    proposal=proposal,
                    by=official(request),
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
        service: Callable[..., object],
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
                lambda data: service(
                    proposal=proposal, by=official(request), reason=data["reason"]
                ),
            )
            if result is not None:
                self.message_user(request, f"“{proposal.title}”: {done}", messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(proposal))
        return self._render(request, proposal, form, title % {"title": proposal.title}, submit)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._reason_view(
            request,
            object_id,
            service=decisions.reject_proposal,
            form_class=RejectForm,
            title=gettext("Reject “%(title)s”: the reason is public"),
            submit=gettext("Reject"),
            done=gettext("rejected."),
        )

    def hide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._reason_view(
            request,
            object_id,
            service=decisions.hide_proposal,
            form_class=ModerationReasonForm,
            title=gettext("Hide “%(title)s”: its author sees the reason"),
            submit=gettext("Hide"),
            done=gettext("hidden."),
        )

    def unhide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._reason_view(
            request,
            object_id,
            service=decisions.unhide_proposal,
            form_class=ModerationReasonForm,
            title=gettext("Show “%(title)s” again"),
            submit=gettext("Show again"),
            done=gettext("shown again."),
        )
