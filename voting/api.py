"""The citizens' voting API. Views parse, authenticate and call one service or selector."""

import logging

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import user_of
from core import idempotency, metrics, pagination
from core.errors import Forbidden
from core.filters import DigitsField, parse_query
from core.pagination import page_request
from core.schema import error_response
from core.schema_errors import errors
from voting import (
    board,
    casting,
    eligibility,
    poll_detail,
    poll_list,
    results_cache,
    selectors,
)
from voting.board_serializers import BoardSerializer
from voting.schema import NOT_ELIGIBLE_RESPONSE, ResultsSerializer
from voting.serializers import (
    BallotRequestSerializer,
    BallotResponseSerializer,
    PaginatedPollListItemListSerializer,
    PollDetailSerializer,
    ReceiptSerializer,
)
from voting.throttling import BallotThrottle

logger = logging.getLogger(__name__)


class ResultsHidden(Forbidden):
    default_code = "results_hidden"
    default_detail = _("The results of this poll are not published yet.")


SCOPES = ("mine", "all")


class PollListView(APIView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=selectors.Status.CHOICES,
            default=selectors.Status.OPEN,
            error_messages={"invalid_choice": _("Choose open, upcoming or closed.")},
        )
        scope = serializers.ChoiceField(
            choices=SCOPES,
            default="mine",
            help_text="mine (default): polls of my audience; all: every published poll",
            error_messages={"invalid_choice": _("Choose mine or all.")},
        )
        # DRF's CharField refuses NUL, which PostgreSQL refuses in text (a DataError: a 500).
        category = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=100,
            trim_whitespace=False,
            help_text="Category slug",
            error_messages={"max_length": _("Not a category slug.")},
        )

    @extend_schema(
        parameters=[
            FilterSerializer,
            *pagination.schema_parameters(),
        ],
        operation_id="v1_polls_list",
        responses={
            200: PaginatedPollListItemListSerializer,
            **errors(400, 401, 403, 404, 503),
        },
        description=(
            "Polls, soonest closing first (closed: most recently closed first). "
            "Errors: invalid_input (400), not_found (404: a page past the last)."
        ),
    )
    def get(self, request: Request) -> Response:
        params = parse_query(self.FilterSerializer, request)
        body = poll_list.page(
            request=request,
            voter=eligibility.Voter.of(user_of(request)),
            page=page_request(request),
            status=params["status"],
            scope=params["scope"],
            category=params.get("category") or None,
        )
        return Response(body)


class PollDetailView(APIView):
    @extend_schema(
        responses={200: PollDetailSerializer, **errors(401, 403, 404, 503)},
        description="One published poll, with the citizen's own part (eligible, has_voted…).",
    )
    def get(self, request: Request, poll_id: int) -> Response:
        return Response(poll_detail.detail(request=request, user=user_of(request), poll_id=poll_id))


class BallotView(APIView):
    throttle_classes = [BallotThrottle]

    @extend_schema(
        request=BallotRequestSerializer,
        responses={
            201: BallotResponseSerializer,
            **errors(400, 401, 404, 413, 415, 422, 429, 503),
            400: error_response(
                "invalid_choice / invalid_input (with fields) / invalid_idempotency_key / "
                "parse_error"
            ),
            403: NOT_ELIGIBLE_RESPONSE,
            409: error_response("already_voted / poll_not_open"),
        },
        # The header's rules, errors and schema are every creating POST's (core/idempotency.py);
        # only the stored answer is the ballot's own, sealed (voting/idempotency.py).
        parameters=idempotency.SCHEMA_PARAMETERS,
        description=(
            "Cast a ballot, exactly once. It is sealed at once and counted later, in a shuffled "
            "batch of at least BALLOT_BATCH_MIN ballots. The answer echoes the choice and holds "
            "a receipt code, both shown only here. "
            "Errors: already_voted (409), poll_not_open (409), not_eligible (403, with reason), "
            "invalid_choice (400), idempotency_mismatch (422)."
        ),
    )
    def post(self, request: Request, poll_id: int) -> Response:
        key = idempotency.key_from(request)
        serializer = BallotRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = casting.cast_ballot(
            poll=poll_id,
            voter=user_of(request),
            option_ids=serializer.validated_data.get("options"),
            ranking=serializer.validated_data.get("ranking"),
            scores=[
                (score["option"], score["score"])
                for score in serializer.validated_data.get("scores") or []
            ]
            if "scores" in serializer.validated_data
            else None,
            idempotency_key=key,
        )
        response = Response(result.body, status=result.status_code)
        if result.replayed:
            response[idempotency.REPLAYED_HEADER] = "true"
        elif result.status_code == 201:
            metrics.BALLOTS_ACCEPTED.inc()
        return response


class ResultsView(APIView):
    @extend_schema(
        responses={
            200: ResultsSerializer,
            **errors(401, 404, 503),
            403: error_response("results_hidden: not published yet / permission_denied"),
        },
        description=(
            "The poll's results: totals once at least batch_min ballots are counted, "
            "breakdowns once the poll is final, small numbers withheld (null)."
        ),
    )
    def get(self, request: Request, poll_id: int) -> Response:
        poll = selectors.published_poll(poll_id=poll_id, user=user_of(request))
        if not selectors.results_visible_to(poll=poll, user=user_of(request)):
            raise ResultsHidden()
        return Response(results_cache.document(poll=poll))


class ReceiptView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: ReceiptSerializer, **errors(401, 404, 503)},
        description=(
            "Whether the ballot with this receipt is still sealed or counted, and in which batch "
            "of the poll's board. Never the choice: a receipt cannot prove how anyone voted."
        ),
    )
    def get(self, request: Request, code: str) -> Response:
        found = selectors.receipt_status(code=code, user=request.user)
        if found is None:
            raise Http404
        return Response(ReceiptSerializer(found).data)


class BoardView(APIView):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        after = DigitsField(
            max_digits=9,
            default=0,
            help_text="Entries after this batch number.",
            error_messages={
                key: _("A batch number.") for key in ("invalid", "min_value", "max_value")
            },
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses={
            200: BoardSerializer,
            **errors(400, 401, 404, 503),
            403: error_response("results_hidden: not published yet"),
        },
        description=(
            "The poll's public board: every counted batch (sorted receipt trackers, and the "
            "batch's ballots shuffled separately), hash-chained, with the head signed by the "
            "city's key, and the totals it must add up to. Readable when the results are. "
            "Check it with verifier/verify_board.py."
        ),
    )
    def get(self, request: Request, poll_id: int) -> Response:
        poll = selectors.published_poll(poll_id=poll_id, user=request.user)
        if not selectors.results_visible_to(poll=poll, user=request.user):
            raise ResultsHidden()
        after = parse_query(self.FilterSerializer, request)["after"]
        document = board.document(poll_id=poll.pk, after=after, limit=board.PAGE_SIZE)
        if document["next"] is not None:
            document["next"] = request.build_absolute_uri(
                f"{request.path}?after={document['next']}"
            )
        return Response(document)
