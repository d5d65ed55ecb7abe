"""An outcome's attachment: a private file, handed out as a short-lived signed link.

The attachment is stored private (``core.media.private_storage``) from the moment it is uploaded.
The poll's card carries a stable link to this view; the view checks who asks — a citizen once
the poll's results are visible to citizens (for polls whose results wait for officials, until
they publish them), an official of the poll's jurisdiction at any time — and redirects to the
storage's signed URL (an S3 presigned URL, or ``core.media.serve_private``), valid for
``PRIVATE_MEDIA_URL_SECONDS``.
"""

from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.authentication import user_of
from core.errors import ApiError, Forbidden
from core.schema import error_response
from core.schema_errors import errors
from voting import selectors
from voting.models import Outcome


class AttachmentNotPublic(Forbidden):
    default_code = "attachment_not_public"
    default_detail = _("This poll's results and their documents are not published yet.")


class NoAttachment(ApiError):
    status_code = 404
    default_code = "not_found"
    default_detail = _("This poll's outcome has no attachment.")


class OutcomeAttachmentView(APIView):
    @extend_schema(
        responses={
            302: OpenApiResponse(description="To a signed link that expires in minutes."),
            **errors(401, 404, 503),
            403: error_response("attachment_not_public"),
        },
        description=(
            "The outcome's document. Errors: attachment_not_public (403) until the poll's "
            "results are visible to the citizen; not_found (404)."
        ),
    )
    def get(self, request: Request, poll_id: int) -> HttpResponseRedirect:
        poll = selectors.published_poll(poll_id=poll_id, user=user_of(request))
        outcome = Outcome.objects.filter(poll=poll).only("attachment").first()
        if outcome is None or not outcome.attachment:
            raise NoAttachment()
        if not selectors.results_visible_to(poll=poll, user=user_of(request)):
            raise AttachmentNotPublic()
        response = HttpResponseRedirect(outcome.attachment.url)
        # The link is the citizen's for minutes: no shared cache may keep or replay it.
        response["Cache-Control"] = "private, no-store"
        return response
