"""Voting's side of the audit log: poll entries are shown to the officials who may see the poll,
and link to its admin page (audit/subjects.py asks; registered in ``VotingConfig.ready()``)."""

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEntry
from audit.subjects import register_subject
from voting import scoping


def visible_poll_ids(user: User) -> QuerySet[Any]:
    return scoping.polls_visible_to(user).values("pk")


def poll_admin_url(poll_id: int) -> str:
    return reverse("admin:voting_poll_change", args=[poll_id])


def register() -> None:
    register_subject(
        AuditEntry.Subject.POLL, visible_ids=visible_poll_ids, admin_url=poll_admin_url
    )
