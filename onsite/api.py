"""The citizens' on-site API: cast a ballot with a scanned QR token, and resolve a scanned token to
its poll (the app's deep link). Views parse, authenticate and call onsite.services."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import user_of
from core import idempotency, metrics
from core.schema import error_response
from core.schema_errors import errors
from onsite import services
from voting.schema import EligibilityErrorSerializer
from voting.serializers import BallotRequestSerializer, BallotResponseSerializer
from voting.throttling import BallotThrottle

SCANNED_CODE_HELP = (
    "The code scanned from the venue's screen: the last part of its URL "
    "(https://<host>/onsite/t/<token>)"
)


class TokenField(serializers.CharField):
    def __init__(self, **kwargs) -> None:
        # A token is 32 characters; anything much longer is not one (and is not parsed).
        super().__init__(
            max_length=64, trim_whitespace=False, help_text=SCANNED_CODE_HELP, **kwargs
        )


class LocationSerializer(serializers.Serializer):
    """The phone's position, only to be checked against the venue's circle: never stored."""

    latitude = serializers.FloatField(min_value=-90, max_value=90, help_text="Degrees (WGS 84)")
    longitude = serializers.FloatField(min_value=-180, max_value=180, help_text="Degrees (WGS 84)")


class OnsiteBallotRequestSerializer(BallotRequestSerializer):
    """The ordinary ballot (one of options, ranking, scores), plus the scanned token."""

    token = TokenField()
    poll = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=(
            "The poll the citizen is voting in, as the app shows it: refused "
            "(onsite_poll_mismatch) if the scanned code is another poll's. Optional: without "
            "it the ballot goes to the poll of the code's session."
        ),
    )
    location = LocationSerializer(
        required=False,
        help_text=(
            "Required where the session checks the position (location_required): compared with "
            "its circle and discarded, never stored or logged"
        ),
    )


class OnsiteSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    place = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    location_required = serializers.BooleanField(
        help_text="The ballot must carry the phone's location (checked against a circle)"
    )


class ScannedTokenSerializer(serializers.Serializer):
    poll = serializers.IntegerField(help_text="The poll to show: GET /api/v1/polls/{poll}/")
    session = OnsiteSessionSerializer()


CODE_ERRORS = "invalid_onsite_token / onsite_token_expired"
FORBIDDEN_RESPONSE = OpenApiResponse(
    EligibilityErrorSerializer,
    description=(
        "out_of_radius / not_eligible (with reason: verification, profile_incomplete, district, "
        "group, age) / permission_denied"
    ),
)


class OnsiteBallotView(APIView):
    throttle_classes = [BallotThrottle]

    @extend_schema(
        request=OnsiteBallotRequestSerializer,
        responses={
            201: BallotResponseSerializer,
            **errors(400, 401, 404, 413, 415, 422, 429, 503),
            400: error_response(
                f"{CODE_ERRORS} / onsite_poll_mismatch / location_required / invalid_choice / "
                "invalid_input (with fields) / invalid_idempotency_key / parse_error"
            ),
            403: FORBIDDEN_RESPONSE,
            409: error_response("already_voted / poll_not_open / outside_window"),
        },
        parameters=idempotency.SCHEMA_PARAMETERS,
        operation_id="v1_onsite_ballots_create",
        description=(
            "Cast a ballot at a venue: the scanned QR code proves presence. The code is good for "
            "ONSITE_TOKEN_SECONDS after it leaves the screen (scan, then send at once). Where the "
            "session has a circle, the phone's location must lie inside it; it is compared and "
            "discarded. Otherwise an ordinary ballot, cast once, with the same answer. "
            "Errors: invalid_onsite_token (400), onsite_token_expired (400), onsite_poll_mismatch "
            "(400), location_required (400), out_of_radius (403), outside_window (409), and "
            "those of POST /api/v1/polls/{id}/ballots/. A retry with the same Idempotency-Key "
            "replays the first answer, even after the code has expired."
        ),
    )
    def post(self, request: Request) -> Response:
        key = idempotency.key_from(request)
        serializer = OnsiteBallotRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        location = data.get("location")
        result = services.cast_onsite_ballot(
            voter=user_of(request),
            token=data["token"],
            poll_id=data.get("poll"),
            option_ids=data.get("options"),
            ranking=data.get("ranking"),
            scores=[(score["option"], score["score"]) for score in data["scores"]]
            if "scores" in data
            else None,
            location=services.Location(**location) if location is not None else None,
            idempotency_key=key,
        )
        response = Response(result.body, status=result.status_code)
        if result.replayed:
            response[idempotency.REPLAYED_HEADER] = "true"
        elif result.status_code == 201:
            metrics.BALLOTS_ACCEPTED.inc()
        return response


class ScannedTokenView(APIView):
    @extend_schema(
        responses={
            200: ScannedTokenSerializer,
            **errors(401, 429, 503),
            400: error_response(CODE_ERRORS),
            409: error_response("outside_window"),
        },
        operation_id="v1_onsite_tokens_retrieve",
        description=(
            "What a scanned code is for: the app's deep link https://<host>/onsite/t/<token> "
            "opens the poll it names. Checks the code as a ballot would (signed, fresh, inside "
            "the session's window); the ballot needs a fresh scan if this one has expired by "
            "then. Errors: invalid_onsite_token (400), onsite_token_expired (400), "
            "outside_window (409)."
        ),
    )
    def get(self, request: Request, token: str) -> Response:
        session = services.admitted_session(token=token)
        body = {
            "poll": session.poll_id,
            "session": {
                "id": session.pk,
                "place": session.place,
                "starts_at": session.starts_at,
                "ends_at": session.ends_at,
                "location_required": session.radius_m is not None,
            },
        }
        return Response(ScannedTokenSerializer(body).data)
