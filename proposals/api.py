"""The citizens' proposals API. Views parse, authenticate and call one service or selector."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import user_of
from core import idempotency
from core.filters import parse_query
from core.schema_errors import errors
from proposals import selectors, services
from proposals.serializers import (
    ImageUploadSerializer,
    ProposalCreateSerializer,
    ProposalDetailSerializer,
    ProposalImageSerializer,
    ProposalListItemSerializer,
    SupportResponseSerializer,
)
from voting.throttling import WriteThrottle

# Only what each operation can answer: reading is public and never throttled; a body may be too
# large (413) or of the wrong media type (415); a creating POST may reuse its key (422).
LIST_ERRORS = errors(400, 401, 404, 503)
DETAIL_ERRORS = errors(401, 404, 503)
PROPOSE_ERRORS = errors(400, 401, 403, 409, 413, 415, 422, 429, 503)
IMAGE_ERRORS = errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
SUPPORT_ERRORS = errors(400, 401, 403, 404, 409, 422, 429, 503)
WITHDRAW_ERRORS = errors(401, 403, 404, 409, 429, 503)


class ProposalThrottle(WriteThrottle):
    """``PROPOSAL_THROTTLE``: proposing, adding images, supporting and withdrawing."""

    setting = "PROPOSAL_THROTTLE"
    prefix = "proposal-throttle"


class ProposalListView(ListAPIView):
    throttle_classes = [ProposalThrottle]
    serializer_class = ProposalListItemSerializer

    def get_permissions(self):
        # The list is public, like the districts: proposals are made to be read and shared.
        if self.request is not None and self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return super().get_permissions()

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=selectors.STATUSES,
            default=selectors.Proposal.Status.OPEN,
            error_messages={
                "invalid_choice": _("Choose open, under_review, accepted, rejected or expired.")
            },
        )
        district = serializers.RegexField(
            r"^([0-9]{10}|city)\Z",
            required=False,
            trim_whitespace=False,
            help_text=(
                "A gu's 10-digit code for that gu's proposals, or city for the city-wide ones"
            ),
            error_messages={"invalid": _("Send a 10-digit gu code, or city for all of Seoul.")},
        )
        order = serializers.ChoiceField(
            choices=selectors.ORDERS,
            default="newest",
            help_text="newest (default) or support (most supported first)",
            error_messages={"invalid_choice": _("Choose newest or support.")},
        )

    def get_queryset(self):
        params = parse_query(self.FilterSerializer, self.request)
        return selectors.proposal_list(
            user=self.request.user,
            status=params["status"],
            district=params.get("district"),
            order=params["order"],
        )

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: ProposalListItemSerializer(many=True), **LIST_ERRORS},
        description=(
            "Citizens' proposals of one status (default: open, collecting support). Public: "
            "without a session, `supported` and `is_mine` are false."
        ),
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ProposalCreateSerializer,
        parameters=idempotency.SCHEMA_PARAMETERS,
        responses={201: ProposalDetailSerializer, **PROPOSE_ERRORS},
        description=(
            "Propose a poll. Errors: verification_required (403), too_many_open_proposals (409), "
            "invalid_district (400), invalid_input (400, with fields), "
            "invalid_idempotency_key (400), idempotency_mismatch (422)."
        ),
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        key = idempotency.key_from(request)
        serializer = ProposalCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        author = user_of(request)

        def propose() -> idempotency.Answer:
            proposal = services.submit_proposal(
                author=author,
                title=data["title"],
                description=data["description"],
                options=data["options"],
                district_code=data.get("district"),
                duration_days=data["duration_days"],
            )
            answer = _detail(request, proposal.pk, status_code=status.HTTP_201_CREATED)
            return idempotency.Answer(status_code=answer.status_code, body=answer.data)

        return idempotency.run(
            user_id=author.pk,
            key=key,
            operation="proposal",
            # An absent district and a null one are the same request.
            payload={**data, "district": data.get("district")},
            create=propose,
        ).response()


def _detail(request: Request, proposal_id: int, status_code: int = status.HTTP_200_OK) -> Response:
    proposal = selectors.proposal_detail(user=request.user, proposal_id=proposal_id)
    serializer = ProposalDetailSerializer(proposal, context={"request": request})
    return Response(serializer.data, status=status_code)


class ProposalDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ProposalDetailSerializer, **DETAIL_ERRORS})
    def get(self, request: Request, proposal_id: int) -> Response:
        return _detail(request, proposal_id)


class ProposalImagesView(APIView):
    throttle_classes = [ProposalThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImageUploadSerializer},
        parameters=idempotency.SCHEMA_PARAMETERS,
        responses={201: ProposalImageSerializer, **IMAGE_ERRORS},
        description=(
            "The author adds an image (at most 3), while nobody supports the proposal yet. "
            "Errors: not_author (403), images_locked (409), too_many_images (409), "
            "proposal_not_open (409), invalid_idempotency_key (400), idempotency_mismatch (422)."
        ),
    )
    def post(self, request: Request, proposal_id: int) -> Response:
        key = idempotency.key_from(request)
        user = user_of(request)
        proposal = selectors.visible_proposal(user=user, proposal_id=proposal_id)
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["image"]

        def add() -> idempotency.Answer:
            image = services.add_image(
                proposal=proposal, by=user, image=upload, alt=serializer.validated_data["alt"]
            )
            body = ProposalImageSerializer(image, context={"request": request}).data
            return idempotency.Answer(status_code=status.HTTP_201_CREATED, body=body)

        return idempotency.run(
            user_id=user.pk,
            key=key,
            operation=f"proposal_image:{proposal_id}",
            payload={
                "alt": serializer.validated_data["alt"],
                "image": idempotency.file_digest(upload),
            },
            create=add,
        ).response()


class SupportView(APIView):
    throttle_classes = [ProposalThrottle]

    @extend_schema(
        request=None,
        parameters=idempotency.SCHEMA_PARAMETERS,
        responses={201: SupportResponseSerializer, **SUPPORT_ERRORS},
        description=(
            "Support a proposal, once. Errors: already_supported (409), proposal_not_open (409), "
            "own_proposal (409), verification_required (403), not_resident (403), "
            "invalid_idempotency_key (400), idempotency_mismatch (422)."
        ),
    )
    def post(self, request: Request, proposal_id: int) -> Response:
        key = idempotency.key_from(request)
        user = user_of(request)

        def support() -> idempotency.Answer:
            result = services.support(proposal=proposal_id, user=user)
            body = {
                "support_count": result.support_count,
                "status": result.status,
                "supported": True,
            }
            return idempotency.Answer(status_code=status.HTTP_201_CREATED, body=body)

        return idempotency.run(
            user_id=user.pk,
            key=key,
            operation=f"support:{proposal_id}",
            payload=None,
            create=support,
        ).response()

    @extend_schema(
        request=None,
        responses={200: SupportResponseSerializer, **WITHDRAW_ERRORS},
        description="Withdraw my support while the proposal is open. Errors: not_supported (409).",
    )
    def delete(self, request: Request, proposal_id: int) -> Response:
        result = services.withdraw_support(proposal=proposal_id, user=user_of(request))
        body = {"support_count": result.support_count, "status": result.status, "supported": False}
        return Response(body, status=status.HTTP_200_OK)
