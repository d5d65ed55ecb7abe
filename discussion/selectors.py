"""Reads of comments, in a fixed number of queries whatever the page holds.

A page of threads costs three queries: the count, the top-level comments (with ``liked_by_me`` and
``reply_count`` computed in the same statement) and the first replies of every comment on the
page (one windowed query). Nothing here touches participations or ballots.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.http import Http404

from accounts.models import User
from discussion.models import Comment, CommentLike
from proposals.models import Proposal
from voting import eligibility
from voting.models import Poll


class Order:
    NEWEST = "newest"
    LIKES = "likes"
    CHOICES = (NEWEST, LIKES)


@dataclass(frozen=True)
class Subject:
    """What a thread is about: a poll or a proposal, by id."""

    kind: str  # "poll" or "proposal"
    pk: int

    @property
    def lookup(self) -> dict[str, int]:
        return {f"{self.kind}_id": self.pk}


def replies_preview() -> int:
    return settings.COMMENT_REPLIES_PREVIEW


def readable_poll(*, poll_id: int, user: User) -> Poll:
    """A poll whose comments any signed-in citizen may read: published (drafts do not exist),
    and, if private, one ``user`` is on the list of (``voting.eligibility.visible``)."""
    poll = Poll.objects.filter(eligibility.visible(user.pk), pk=poll_id, published=True).first()
    if poll is None:
        raise Http404
    return poll


def readable_proposal(*, proposal_id: int) -> Proposal:
    """A proposal whose comments citizens may read and write: one not hidden by officials (a
    hidden proposal's discussion is gone for everyone, its author included)."""
    proposal = Proposal.objects.visible().filter(pk=proposal_id).first()
    if proposal is None:
        raise Http404
    return proposal


def _readable_subjects(user: User) -> Q:
    """Comments whose poll (or proposal) ``user`` may see: a private poll's only for its list."""
    private_seen = Poll.objects.filter(eligibility.visible(user.pk), private=True).values("pk")
    poll_seen = Q(poll__published=True) & (Q(poll__private=False) | Q(poll_id__in=private_seen))
    return poll_seen | Q(proposal__isnull=False, proposal__hidden_at__isnull=True)


def _liked_by(user: User) -> Exists:
    return Exists(CommentLike.objects.filter(comment_id=OuterRef("pk"), user_id=user.pk))


def _reply_count() -> Coalesce:
    counts = (
        Comment.objects.filter(parent_id=OuterRef("pk"))
        .order_by()
        .values("parent_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def threads(*, subject: Subject, user: User, order: str = Order.NEWEST) -> QuerySet[Comment]:
    """Top-level comments about ``subject``, each annotated with ``liked_by_me`` and
    ``reply_count``. Hidden and deleted ones stay in place (the API shows placeholders)."""
    ordering = (
        ["-like_count", "-created_at", "-id"] if order == Order.LIKES else ["-created_at", "-id"]
    )
    return (
        Comment.objects.filter(parent__isnull=True, **subject.lookup)
        .annotate(liked_by_me=_liked_by(user), reply_count=_reply_count())
        .order_by(*ordering)
    )


def attach_first_replies(comments: list[Comment], *, user: User) -> list[Comment]:
    """Set ``first_replies`` on each comment: its oldest replies, for all of them in one query."""
    for comment in comments:
        comment.first_replies = []
    if not comments:
        return comments
    by_id = {comment.pk: comment for comment in comments}
    rank = Window(
        RowNumber(), partition_by=[F("parent_id")], order_by=[F("created_at").asc(), F("id").asc()]
    )
    replies = (
        Comment.objects.filter(parent_id__in=list(by_id))
        .annotate(liked_by_me=_liked_by(user), rank=rank)
        .filter(rank__lte=replies_preview())
        .order_by("parent_id", "created_at", "id")
    )
    for reply in replies:
        by_id[reply.parent_id].first_replies.append(reply)
    return comments


def replies(*, comment_id: int, user: User) -> QuerySet[Comment]:
    """All replies to a comment, oldest first (conversation order)."""
    parent = comment_for_action(comment_id=comment_id, user=user)
    return (
        Comment.objects.filter(parent_id=parent.pk)
        .annotate(liked_by_me=_liked_by(user))
        .order_by("created_at", "id")
    )


def comment_for_action(*, comment_id: int, user: User) -> Comment:
    """A comment on something ``user`` may see; anything else does not exist (404)."""
    comment = Comment.objects.filter(_readable_subjects(user), pk=comment_id).first()
    if comment is None:
        raise Http404
    return comment
