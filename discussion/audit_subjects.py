"""Discussion's side of the audit log: a gu's officials read the moderation of comments on the
polls and proposals they may see (audit/subjects.py asks; registered in
``DiscussionConfig.ready()``)."""

from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEntry
from audit.subjects import register_subject
from discussion.models import Comment
from proposals.audit_subjects import visible_proposal_ids
from voting.audit_subjects import visible_poll_ids


def visible_comment_ids(user: User) -> QuerySet[Any]:
    polls, proposals = visible_poll_ids(user), visible_proposal_ids(user)
    return Comment.objects.filter(Q(poll_id__in=polls) | Q(proposal_id__in=proposals)).values("pk")


def comment_admin_url(comment_id: int) -> str:
    return reverse("admin:discussion_comment_change", args=[comment_id])


def register() -> None:
    register_subject(
        AuditEntry.Subject.COMMENT, visible_ids=visible_comment_ids, admin_url=comment_admin_url
    )
