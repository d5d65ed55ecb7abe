"""Redeeming an invitation code to a private poll (voting/invitations.py)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import user_of
from core.schema import error_response
from core.schema_errors import errors
from voting import invitations
from voting.throttling import WriteThrottle


class InvitationThrottle(WriteThrottle):
    """``INVITATION_REDEEM_THROTTLE``: codes a citizen may try, e.g. "5/min,20/day". Every
    attempt counts, right or wrong: it is what keeps eight symbols from being guessed."""

    setting = "INVITATION_REDEEM_THROTTLE"
    prefix = "invitation-throttle"


class RedeemRequestSerializer(serializers.Serializer):
    # Room for spaces and dashes as people type them; normalised by the service.
    code = serializers.CharField(
        max_length=32,
        trim_whitespace=True,
        help_text="The invitation code as printed, e.g. 7KQ2-MX4P (case, spaces and dashes "
        "do not matter).",
        error_messages={"max_length": _("Not an invitation code.")},
    )


class RedeemResponseSerializer(serializers.Serializer):
    poll = serializers.IntegerField(help_text="The private poll the code opens.")


class RedeemView(APIView):
    throttle_classes = [InvitationThrottle]

    @extend_schema(
        request=RedeemRequestSerializer,
        responses={
            200: RedeemResponseSerializer,
            **errors(401, 413, 415, 429, 503),
            400: error_response("invalid_invitation / invalid_input / parse_error"),
            409: error_response("invitation_used / invitation_revoked"),
        },
        operation_id="v1_invitations_redeem",
        description=(
            "Redeem an invitation code to a private poll: the poll then appears in the citizen's "
            "list and detail, and they may vote in it as its audience rules say. A code is "
            "single-use; redeeming one's own again answers the same. Errors: invalid_invitation "
            "(400: malformed or unknown), invitation_used (409: redeemed by another citizen), "
            "invitation_revoked (409: withdrawn by the officials), throttled (429: "
            "INVITATION_REDEEM_THROTTLE, every attempt counts)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = RedeemRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        poll = invitations.redeem(code=serializer.validated_data["code"], citizen=user_of(request))
        return Response(RedeemResponseSerializer({"poll": poll.pk}).data)
