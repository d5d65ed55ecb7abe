"""Django's admin history (``django_admin_log``), mirrored into the audit log's chain."""

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry, LogEntryManager
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_save

from accounts.models import User
from audit.chain import append
from audit.models import AuditEntry

_FLAGS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}
# Models whose ``str()`` is an official's text (titles, names): shown as they are. Any other
# object is named by its type and id, since its text could be a citizen's (a phone, a comment).
# Labels only, not imports: the log reads no other app's models.
_SAFE_REPR = {
    "voting.poll",
    "voting.category",
    "voting.option",
    "voting.outcome",
    "districts.district",
    "districts.group",
    "auth.group",
}


def record_admin_log(log: LogEntry) -> AuditEntry:
    """A row of ``django_admin_log`` into the chain: content type, object id, action flag and
    change message (field names, never values), and a label safe to keep."""
    kind = log.content_type if log.content_type_id else None
    content_type = f"{kind.app_label}.{kind.model}" if kind is not None else None
    return append(
        actor=User.objects.filter(pk=log.user_id).first(),
        subject_type=AuditEntry.Subject.ADMIN,
        subject_id=log.pk,
        title=_admin_label(log, content_type),
        action=AuditEntry.Action.ADMIN_LOG,
        changes={
            "content_type": content_type,
            # Text, as stored (the admin hands the object's pk over as it is).
            "object_id": None if log.object_id is None else str(log.object_id),
            "action_flag": _FLAGS.get(log.action_flag, log.action_flag),
            "change_message": log.change_message,
        },
    )


def _admin_label(log: LogEntry, content_type: str | None) -> str:
    if content_type in _SAFE_REPR:
        return log.object_repr
    if content_type == f"{User._meta.app_label}.{User._meta.model_name}":
        staff = (
            log.object_id is not None
            and User.objects.filter(pk=log.object_id, is_staff=True).exists()
        )
        return f"{'official' if staff else 'citizen'} #{log.object_id}"
    return f"{content_type or 'object'} #{log.object_id}"


def _mirror_saved(
    sender: type[LogEntry], instance: LogEntry, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if created and not raw:
        record_admin_log(instance)
        instance._audit_mirrored = True  # type: ignore[attr-defined]


def connect() -> None:
    """Mirror every admin history row into the chain, in the transaction that writes it.

    ``post_save`` sees rows saved one by one; the admin's bulk deletions write theirs with
    ``bulk_create`` (``LogEntryManager.log_actions``), which sends no signal, so that method is
    wrapped to mirror whatever the signal did not."""
    post_save.connect(_mirror_saved, sender=LogEntry, dispatch_uid="audit.admin_log")
    original = LogEntryManager.log_actions
    if getattr(original, "_audit_wrapped", False):
        return

    def log_actions(
        self: LogEntryManager,
        user_id: int,
        queryset: QuerySet[Any],
        action_flag: int,
        change_message: str | list[Any] = "",
        **kwargs: Any,
    ) -> Any:
        # One transaction: the history rows and their audit entries are kept, or neither.
        with transaction.atomic(using=self.db):
            result = original(self, user_id, queryset, action_flag, change_message, **kwargs)
            logs: list[LogEntry] = [result] if isinstance(result, LogEntry) else list(result)
            for log in logs:
                if not getattr(log, "_audit_mirrored", False):
                    record_admin_log(log)
                    log._audit_mirrored = True  # type: ignore[attr-defined]
        return result

    log_actions._audit_wrapped = True  # type: ignore[attr-defined]
    LogEntryManager.log_actions = log_actions  # type: ignore[method-assign,assignment]
