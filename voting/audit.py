"""Writing the audit log: every change an official makes to a poll, as it happens."""

from typing import Any

from accounts.models import User
from voting.models import AuditEntry, Poll


def record(*, actor: User | None, poll: Poll, action: str, changes: dict[str, Any] | None = None):
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=_name(actor),
        poll=poll,
        subject_type=AuditEntry.Subject.POLL,
        subject_id=poll.pk,
        poll_title=poll.title[:200],
        action=action,
        changes=changes or {},
    )


def record_moderation(
    *,
    actor: User | None,
    subject_type: str,
    subject_id: int,
    title: str,
    action: str,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """An official's decision on something a citizen wrote (a proposal or a comment)."""
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=_name(actor),
        subject_type=subject_type,
        subject_id=subject_id,
        poll_title=title[:200],
        action=action,
        changes=changes or {},
    )


def _name(actor: User | None) -> str:
    return actor.get_username() if actor and actor.get_username() else str(actor or "-")


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields that changed, as JSON-friendly text."""
    return {
        name: [_plain(before.get(name)), _plain(after.get(name))]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return sorted(_plain(v) for v in value)
    return str(value)
