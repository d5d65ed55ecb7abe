"""Changes to citizens' accounts, heard from accounts (which must not import the audit log)."""

from typing import Any

from accounts.signals import citizen_changed
from voting import audit
from voting.models import AuditEntry


def record_citizen_change(
    *, actor: Any, citizen_id: int, action: str, changes: dict[str, Any], **_kwargs: Any
) -> None:
    # The title names the account by number only: the log is read by officials who may not see
    # phone numbers, and must outlive the account without keeping personal data.
    audit.record_event(
        actor=actor,
        subject_type=AuditEntry.Subject.CITIZEN,
        subject_id=citizen_id,
        title=f"citizen #{citizen_id}",
        action=action,
        changes=changes,
    )


def connect() -> None:
    citizen_changed.connect(record_citizen_change, dispatch_uid="voting.audit_citizens")
