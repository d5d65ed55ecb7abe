"""API for officials' apps: tickets for the live dashboard stream."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import SessionTokenAuthentication, user_of
from accounts.officials_permissions import OfficialSessionVerified
from core.errors import Forbidden
from core.schema import error_response
from core.schema_errors import errors
from voting import selectors, tickets


class DashboardForbidden(Forbidden):
    default_code = "dashboard_forbidden"
    default_detail = _("Only officials responsible for this poll can watch it live.")


class TicketRequestSerializer(serializers.Serializer):
    poll = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The poll's id")


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds")
    url = serializers.CharField(help_text="Path of the WebSocket to open with it, once")


class WebSocketTicketView(APIView):
    # A password alone gets no ticket: the session must have passed the second factor.
    permission_classes = [IsAuthenticated, OfficialSessionVerified]

    @extend_schema(
        request=TicketRequestSerializer,
        responses={
            201: TicketSerializer,
            **errors(400, 401, 413, 415, 503),
            403: error_response(
                "dashboard_forbidden: not an official responsible for this live poll / "
                "permission_denied (not an official, or the second factor not passed)"
            ),
        },
        description=(
            "Trade the session token for a single-use ticket to open `/ws/polls/<id>/` "
            "(session tokens never go into URLs). Officials responsible for the poll only. "
            "A ticket asked for with `X-Session-Token` also opens a socket sent without an "
            "`Origin` header (native apps); one asked for with a browser's session cookie "
            "works only from the site's own pages."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = TicketRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_of(request)
        poll = selectors.live_poll_for(user=user, poll_id=serializer.validated_data["poll"])
        if poll is None:
            raise DashboardForbidden()
        # Only a request authenticated by an app's session token gets a ticket that also opens a
        # socket without Origin (a native app): a cookie session is a browser's, which sends one.
        native = isinstance(request.successful_authenticator, SessionTokenAuthentication)
        ticket = tickets.issue(user_id=user.pk, poll_id=poll.pk, native=native)
        return Response(
            {
                "ticket": ticket,
                "expires_in": settings.WS_TICKET_TTL,
                "url": f"/ws/polls/{poll.pk}/?ticket={ticket}",
            },
            status=status.HTTP_201_CREATED,
        )
