"""What the guided poll form asks the server while the official types: the description's
Markdown rendered as citizens get it, and the audience estimate of the audience being chosen.

Both are POSTs (CSRF-checked by the admin site) that read and save nothing; both are open to
officials who may add or change polls. The estimate validates the posted audience with the poll
form's own rules (``PollForm``: a gu's official cannot count another gu) and hides the count
over a managed group from officials who may not see phone numbers (``voting.admin.audience``).
"""

from collections.abc import Callable
from typing import Any, cast

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.forms import ModelMultipleChoiceField
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.urls import URLPattern, path
from django.utils.translation import gettext

from core.markdown import MAX_MARKDOWN_CHARS, render
from districts.services import groups_visible_to
from voting import eligibility, scoping
from voting.admin.audience import estimate_for
from voting.admin.base import official_of
from voting.forms import AUDIENCE_FIELDS, PollForm
from voting.models import Poll


class AudienceForm(PollForm):
    """Only the audience fields of the poll form, with its checks (``PollForm.clean``)."""

    class Meta(PollForm.Meta):
        fields = list(AUDIENCE_FIELDS)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # As PollAdmin.formfield_for_manytomany: a posted id outside these is refused.
        cast(
            ModelMultipleChoiceField, self.fields["districts"]
        ).queryset = scoping.targetable_districts(user)
        cast(ModelMultipleChoiceField, self.fields["groups"]).queryset = groups_visible_to(user)
        if not scoping.is_city_wide(user):
            self.fields["districts"].error_messages["invalid_choice"] = gettext(
                "%(value)s is not a district you may target: choose districts inside your gu."
            )

    def audience(self, poll_id: int | None) -> eligibility.Audience:
        data = self.cleaned_data
        return eligibility.Audience(
            district_codes=tuple(district.pk for district in data.get("districts") or ()),
            group_ids=tuple(group.pk for group in data.get("groups") or ()),
            private=bool(data.get("private")),
            min_age=data.get("min_age"),
            max_age=data.get("max_age"),
            min_verification=data.get("min_verification") or 0,
            poll_id=poll_id,
        )


def _may_author(request: HttpRequest, model_admin: ModelAdmin[Poll]) -> None:
    if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
        raise PermissionDenied


def markdown_preview(request: HttpRequest, model_admin: ModelAdmin[Poll]) -> HttpResponse:
    """POST ``text``: the HTML citizens' description would be (``core.markdown.render``)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    _may_author(request, model_admin)
    text = request.POST.get("text", "")
    if len(text) > MAX_MARKDOWN_CHARS:
        message = gettext("The description is too long to preview (at most %(n)d characters).")
        return HttpResponse(message % {"n": MAX_MARKDOWN_CHARS}, status=413)
    return HttpResponse(render(text), content_type="text/html; charset=utf-8")


def audience_estimate(request: HttpRequest, model_admin: ModelAdmin[Poll]) -> JsonResponse:
    """POST the poll form's audience fields (and ``poll``, a saved poll's id, whose invitation
    codes count too): ``{"text": "Reaches N registered citizens..."}``, or 400 with the form's
    own error messages."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])  # type: ignore[return-value]
    _may_author(request, model_admin)
    poll_id = None
    if request.POST.get("poll"):
        poll = model_admin.get_object(request, request.POST["poll"])
        if poll is None:  # another gu's poll, or none at all: the same answer
            raise Http404(gettext("No such poll."))
        poll_id = poll.pk
    form = AudienceForm(request.POST, user=official_of(request))
    if not form.is_valid():
        errors = {
            field: [str(message) for message in messages] for field, messages in form.errors.items()
        }
        first = next(iter(errors.values()))[0]
        return JsonResponse({"text": first, "errors": errors}, status=400)
    return JsonResponse({"text": estimate_for(request.user, form.audience(poll_id))})


def authoring_urls(*, wrap: Callable[..., Any], model_admin: ModelAdmin[Poll]) -> list[URLPattern]:
    """The endpoints, wired in ``PollAdmin.get_urls`` before the admin's own ``<id>/`` paths."""
    info = model_admin.opts.app_label, model_admin.opts.model_name
    return [
        path(
            "markdown-preview/",
            wrap(lambda request: markdown_preview(request, model_admin)),
            name="{}_{}_markdown_preview".format(*info),
        ),
        path(
            "audience-estimate/",
            wrap(lambda request: audience_estimate(request, model_admin)),
            name="{}_{}_audience_estimate".format(*info),
        ),
    ]
