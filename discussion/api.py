"""The citizens' comments API. Views parse, authenticate and call one service or selector."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import user_of
from core import idempotency
from core.filters import parse_query
from core.schema import error_response
from core.schema_errors import errors
from discussion import selectors, services
from discussion.selectors import Order, Subject
from discussion.serializers import (
    CommentRequestSerializer,
    CommentSerializer,
    LikeResponseSerializer,
    ReplySerializer,
    ReportRequestSerializer,
    ReportResponseSerializer,
)
from discussion.throttling import CommentThrottle, ReactionThrottle


class ThreadsFilterSerializer(serializers.Serializer):
    order = serializers.ChoiceField(
        choices=Order.CHOICES,
        default=Order.NEWEST,
        help_text="newest (default): most recent threads first; likes: most liked first",
        error_messages={"invalid_choice": _("Choose newest or likes.")},
    )


_COMMENT_ERRORS = (
    "Errors: verification_required (403), not_in_audience (403, with reason), "
    "discussion_closed (409), reply_depth (400), invalid_parent (400), "
    "comment_unavailable (409), invalid_input (400), throttled (429), "
    "invalid_idempotency_key (400), idempotency_mismatch (422)."
)
# Reading a discussion: a bad order or page_size (400), an unknown subject or page (404).
THREADS_ERRORS = errors(400, 401, 404, 503)
# 403 is verification_required or not_in_audience (with its reason); 415: not JSON.
POST_COMMENT_ERRORS = {
    **errors(400, 401, 404, 409, 413, 415, 422, 429, 503),
    403: error_response("verification_required / not_in_audience (with reason)"),
}
# Reactions to one comment, a request without a body; 403 is verification_required (or
# not_your_comment for a deletion).
REACTION_ERRORS = errors(401, 403, 404, 409, 429, 503)


class _ThreadsView(ListAPIView):
    """Top-level comments about one subject, each with its first replies; and new comments."""

    serializer_class = CommentSerializer
    throttle_classes = [CommentThrottle]
    subject_kind = ""
    subject_kwarg = ""

    def subject(self) -> Subject:
        return Subject(self.subject_kind, self.kwargs[self.subject_kwarg])

    def check_subject(self) -> None:
        raise NotImplementedError

    def get_queryset(self):
        order = parse_query(ThreadsFilterSerializer, self.request)["order"]
        self.check_subject()
        return selectors.threads(subject=self.subject(), user=user_of(self.request), order=order)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        # The first replies of the whole page in one query, not one per comment.
        return selectors.attach_first_replies(list(page), user=user_of(self.request))

    def create(self, request: Request) -> Response:
        key = idempotency.key_from(request)
        serializer = CommentRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = user_of(request)
        subject = self.subject()
        # An absent parent and a null one are the same request.
        fields = {"body": data["body"], "parent": data.get("parent")}

        def post() -> idempotency.Answer:
            comment = services.post_comment(
                user=user, subject=subject, body=fields["body"], parent_id=fields["parent"]
            )
            body = CommentSerializer(comment, context=self.get_serializer_context()).data
            return idempotency.Answer(status_code=status.HTTP_201_CREATED, body=body)

        return idempotency.run(
            user_id=user.pk,
            key=key,
            operation=f"comment:{subject.kind}:{subject.pk}",
            payload=fields,
            create=post,
        ).response()


class PollCommentsView(_ThreadsView):
    subject_kind = "poll"
    subject_kwarg = "poll_id"

    def check_subject(self) -> None:
        selectors.readable_poll(poll_id=self.kwargs["poll_id"], user=user_of(self.request))

    @extend_schema(
        parameters=[ThreadsFilterSerializer],
        responses={200: CommentSerializer(many=True), **THREADS_ERRORS},
        description="The poll's discussion: top-level comments, each with its first replies "
        "and reply_count. Any signed-in citizen may read a published poll's discussion (a "
        "private poll's: only its members and invited citizens; 404 for anyone else).",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=CommentRequestSerializer,
        parameters=idempotency.SCHEMA_PARAMETERS,
        responses={201: CommentSerializer, **POST_COMMENT_ERRORS},
        description="Comment on a poll (its audience only, until some days after it closes). "
        + _COMMENT_ERRORS,
    )
    def post(self, request: Request, poll_id: int) -> Response:
        return self.create(request)


class RepliesView(ListAPIView):
    serializer_class = ReplySerializer

    def get_queryset(self):
        return selectors.replies(comment_id=self.kwargs["comment_id"], user=user_of(self.request))

    @extend_schema(
        responses={200: ReplySerializer(many=True), **THREADS_ERRORS},
        description="Every reply to a comment, oldest first.",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class CommentView(APIView):
    throttle_classes = [ReactionThrottle]

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Deleted"),
            **errors(401, 403, 404, 429, 503),
        },
        description="Delete your own comment. One with replies stays as a placeholder "
        "(deleted: true, no text, no author) so the replies keep their thread.",
    )
    def delete(self, request: Request, comment_id: int) -> Response:
        services.delete_comment(user=user_of(request), comment_id=comment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LikeView(APIView):
    throttle_classes = [ReactionThrottle]

    @extend_schema(
        request=None,
        responses={201: LikeResponseSerializer, **REACTION_ERRORS},
        description="Like a comment, once. Errors: already_liked (409), comment_unavailable "
        "(409: hidden or deleted), verification_required (403).",
    )
    def post(self, request: Request, comment_id: int) -> Response:
        comment = services.like(user=user_of(request), comment_id=comment_id)
        body = {"comment": comment.pk, "like_count": comment.like_count, "liked_by_me": True}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Not liked (any more)"),
            **errors(401, 403, 404, 429, 503),
        },
        description="Take a like back. Idempotent.",
    )
    def delete(self, request: Request, comment_id: int) -> Response:
        services.unlike(user=user_of(request), comment_id=comment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportView(APIView):
    throttle_classes = [ReactionThrottle]

    @extend_schema(
        request=ReportRequestSerializer,
        responses={
            201: ReportResponseSerializer,
            **errors(400, 401, 403, 404, 409, 413, 415, 429, 503),
        },
        description="Report a comment to the moderators, once. Errors: already_reported (409), "
        "own_comment (400), comment_unavailable (409), verification_required (403).",
    )
    def post(self, request: Request, comment_id: int) -> Response:
        serializer = ReportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.report(
            user=user_of(request),
            comment_id=comment_id,
            reason=serializer.validated_data["reason"],
            note=serializer.validated_data.get("note", ""),
        )
        return Response(
            {"comment": entry.comment_id, "reason": entry.reason}, status=status.HTTP_201_CREATED
        )


class ProposalCommentsView(_ThreadsView):
    subject_kind = "proposal"
    subject_kwarg = "proposal_id"

    def check_subject(self) -> None:
        selectors.readable_proposal(proposal_id=self.kwargs["proposal_id"])

    @extend_schema(
        parameters=[ThreadsFilterSerializer],
        responses={200: CommentSerializer(many=True), **THREADS_ERRORS},
        description="A proposal's discussion, as for polls. Hidden proposals have none (404).",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=CommentRequestSerializer,
        parameters=idempotency.SCHEMA_PARAMETERS,
        responses={201: CommentSerializer, **POST_COMMENT_ERRORS},
        description="Comment on a proposal (any phone-verified citizen, while it is not hidden). "
        + _COMMENT_ERRORS,
    )
    def post(self, request: Request, proposal_id: int) -> Response:
        return self.create(request)
