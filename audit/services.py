"""Writing the audit log: every change an official makes, as it happens (audit/chain.py chains it).

The subject is neutral: a type (``AuditEntry.Subject``), an id and a title as it reads now. For a
citizen the title is a masked label ("citizen #12") and ``changes`` carry masked values: never a
phone number.
"""

from typing import Any

from accounts.models import User
from audit.chain import append
from audit.models import AuditEntry


def record(
    *,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    title: str,
    action: str,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record what ``actor`` did (``action``) to a subject, in the caller's transaction."""
    return append(
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        title=title,
        action=action,
        changes=changes,
    )


# The name the signal receivers and the moderation service know it by.
record_event = record


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
