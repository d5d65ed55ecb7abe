"""What lower layers tell the audit log by signal (they must not import it): changes to citizens'
accounts (accounts) and managed groups' members replaced (districts). Each receiver runs in the
sender's transaction, so the entry commits or rolls back with the change it records."""

from typing import Any

from accounts.models import User
from accounts.signals import citizen_changed
from audit.models import AuditEntry
from audit.services import record
from districts.models import Group
from districts.signals import members_replaced


def record_citizen_change(
    *,
    actor: User | None,
    citizen_id: int,
    action: str,
    changes: dict[str, Any],
    **_kwargs: Any,
) -> None:
    # The title names the account by number only: the log is read by officials who may not see
    # phone numbers, and must outlive the account without keeping personal data.
    record(
        actor=actor,
        subject_type=AuditEntry.Subject.CITIZEN,
        subject_id=citizen_id,
        title=f"citizen #{citizen_id}",
        action=action,
        changes=changes,
    )


def record_members_replaced(
    *, by: User, group: Group, places_before: int, places: int, **_kwargs: Any
) -> None:
    # Every official reads the audit log: one count (members and pending places together), so
    # the entry cannot say which numbers have an account. Never a phone number.
    record(
        actor=by,
        subject_type=AuditEntry.Subject.GROUP,
        subject_id=group.pk,
        title=group.name,
        action=AuditEntry.Action.REPLACE_MEMBERS,
        changes={"members_and_pending": [places_before, places]},
    )


def connect() -> None:
    citizen_changed.connect(record_citizen_change, dispatch_uid="audit.citizen_changed")
    members_replaced.connect(record_members_replaced, dispatch_uid="audit.members_replaced")
