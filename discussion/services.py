"""Writes of comments: posting, likes, reports, deletion by the author.

Officials hide comments and show them again through ``moderation.services`` (the admin's
actions, ``moderation.admin``), with the same rules as for proposals.

Who may comment on a poll is decided by the poll's audience rules (``voting.eligibility``) minus
"the poll is open": its audience may discuss it before, during and for a while after the vote.
"One like / one report per citizen" is decided by unique constraints, never by a lookup first.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.verification import require_verified
from core.errors import ApiError, Conflict, Forbidden
from core.text import clean_text
from discussion import selectors
from discussion.models import MAX_NOTE, Comment, CommentLike, CommentReport
from discussion.selectors import Subject
from voting import eligibility
from voting.models import Poll

VERIFY_TO_TAKE_PART = _("Verify your phone number to take part in discussions.")


class NotInAudience(Forbidden):
    default_code = "not_in_audience"
    default_detail = _("Only the audience of this poll may comment on it.")


class DiscussionClosed(Conflict):
    default_code = "discussion_closed"
    default_detail = _("This poll closed too long ago to take new comments.")


class ReplyDepth(ApiError):
    default_code = "reply_depth"
    default_detail = _("Reply to the comment that started the thread, not to a reply.")


class InvalidParent(ApiError):
    default_code = "invalid_parent"
    default_detail = _("There is no such comment in this discussion to reply to.")


class CommentUnavailable(Conflict):
    default_code = "comment_unavailable"
    default_detail = _("This comment has been hidden or deleted.")


class AlreadyLiked(Conflict):
    default_code = "already_liked"
    default_detail = _("You already like this comment.")


class AlreadyReported(Conflict):
    default_code = "already_reported"
    default_detail = _("You have already reported this comment.")


class OwnComment(ApiError):
    default_code = "own_comment"
    default_detail = _("You cannot report your own comment.")


class NotYourComment(Forbidden):
    default_code = "not_your_comment"
    default_detail = _("Only its author may delete a comment.")


_AUDIENCE_TEXT = {
    eligibility.Reason.VERIFICATION: _("This poll's discussion needs a higher verification level."),
    eligibility.Reason.PROFILE_INCOMPLETE: _(
        "Complete your profile (residence, birth year) to comment on this poll."
    ),
    eligibility.Reason.DISTRICT: _("This poll's discussion is for residents of other districts."),
    eligibility.Reason.GROUP: _("This poll's discussion is for members of particular groups."),
    eligibility.Reason.AGE: _("This poll's discussion is for another age group."),
}


def max_length() -> int:
    return settings.COMMENT_MAX_LENGTH


def discussion_window() -> timedelta:
    return timedelta(days=settings.COMMENT_WINDOW_AFTER_CLOSE_DAYS)


def clean_body(body: object) -> str:
    """The text as stored (``core.text.clean_text``, multi-line); else a 400 on ``body``."""
    return clean_text(body, field="body", max_length=max_length(), multiline=True)


def _require_verified(user: User) -> None:
    # Comments, likes and reports count one per person: the verified phone is the person.
    require_verified(user, detail=VERIFY_TO_TAKE_PART)


def _check_poll_audience(*, user: User, poll_id: int) -> Poll:
    """The published poll, if ``user`` belongs to its audience; "open" is not required."""
    voter = eligibility.Voter.of(user)
    # A private poll off the citizen's list is not found (404), never "not in the audience".
    poll = eligibility.annotate_verdicts(
        Poll.objects.filter(eligibility.visible(user.pk), pk=poll_id, published=True), voter
    ).first()
    if poll is None:
        raise Http404
    _require_verified(user)
    for reason in eligibility.REASONS:
        if reason != eligibility.Reason.NOT_OPEN and not getattr(poll, f"rule_{reason}"):
            raise NotInAudience(_AUDIENCE_TEXT[reason], reason=reason)
    if poll.closes_at + discussion_window() <= timezone.now():
        raise DiscussionClosed()
    return poll


def post_comment(
    *, user: User, subject: Subject, body: str, parent_id: int | None = None
) -> Comment:
    """Write a comment (or a reply, one level deep) about ``subject`` as ``user``."""
    # Not found, then not allowed, then what is wrong with the text: a draft stays unknown.
    if subject.kind == "poll":
        _check_poll_audience(user=user, poll_id=subject.pk)
    else:
        selectors.readable_proposal(proposal_id=subject.pk)
        _require_verified(user)
    text = clean_body(body)
    with transaction.atomic():
        if parent_id is not None:
            # Locked: the author deleting it now must see this reply, and keep a placeholder.
            parent = (
                Comment.objects.select_for_update().filter(pk=parent_id, **subject.lookup).first()
            )
            if parent is None:
                raise InvalidParent()
            if parent.parent_id is not None:
                raise ReplyDepth()
            if parent.is_hidden or parent.is_deleted:
                raise CommentUnavailable()
        comment = Comment.objects.create(
            author=user, body=text, parent_id=parent_id, **subject.lookup
        )
    comment.liked_by_me = False
    comment.reply_count = 0
    comment.first_replies = []
    return comment


def _is_violation(exc: IntegrityError, constraint: str, columns: str) -> bool:
    # PostgreSQL names the constraint; SQLite names the table's columns.
    text = str(exc)
    return constraint in text or columns in text


def like(*, user: User, comment_id: int) -> Comment:
    comment = selectors.comment_for_action(comment_id=comment_id, user=user)
    _require_verified(user)
    if comment.is_hidden or comment.is_deleted:
        raise CommentUnavailable()
    try:
        with transaction.atomic():
            CommentLike.objects.create(comment_id=comment.pk, user=user)
            Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + 1)
    except IntegrityError as exc:
        if _is_violation(
            exc, "one_like_per_citizen", "discussion_commentlike.comment_id, discussion_commentlike"
        ):
            raise AlreadyLiked() from exc
        raise
    comment.refresh_from_db(fields=["like_count"])
    return comment


def unlike(*, user: User, comment_id: int) -> None:
    """Take a like back; nothing to take back is not an error (DELETE is idempotent)."""
    comment = selectors.comment_for_action(comment_id=comment_id, user=user)
    with transaction.atomic():
        removed, _rows = CommentLike.objects.filter(comment_id=comment.pk, user=user).delete()
        if removed:
            Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") - removed)


def report(*, user: User, comment_id: int, reason: str, note: str = "") -> CommentReport:
    comment = selectors.comment_for_action(comment_id=comment_id, user=user)
    _require_verified(user)
    if comment.author_id == user.pk:
        raise OwnComment()
    if comment.is_hidden or comment.is_deleted:
        raise CommentUnavailable()
    # The note is optional; when written, it is cleaned as any other text.
    note = (
        clean_text(note, field="note", max_length=MAX_NOTE, multiline=True) if note.strip() else ""
    )
    try:
        with transaction.atomic():
            entry = CommentReport.objects.create(
                comment_id=comment.pk, reporter=user, reason=reason, note=note
            )
            Comment.objects.filter(pk=comment.pk).update(report_count=F("report_count") + 1)
    except IntegrityError as exc:
        if _is_violation(
            exc, "one_report_per_citizen", "discussion_commentreport.comment_id, discussion_comm"
        ):
            raise AlreadyReported() from exc
        raise
    return entry


@transaction.atomic
def delete_comment(*, user: User, comment_id: int) -> None:
    """The author takes a comment back. With replies it stays as an empty placeholder, so the
    replies keep their thread; a placeholder goes too once its last reply is deleted."""
    found = selectors.comment_for_action(comment_id=comment_id, user=user)
    comment = Comment.objects.select_for_update().filter(pk=found.pk).first()
    if comment is None or comment.is_deleted:
        raise Http404
    if comment.author_id is None or comment.author_id != user.pk:
        raise NotYourComment()
    if comment.replies.exists():
        comment.deleted_at = timezone.now()
        comment.body = ""
        comment.author = None
        comment.save(update_fields=["deleted_at", "body", "author"])
        return
    parent_id = comment.parent_id
    comment.delete()
    if parent_id is not None:
        Comment.objects.filter(pk=parent_id, deleted_at__isnull=False).exclude(
            replies__isnull=False
        ).delete()
