"""Writing the audit log: every change an official makes, as it happens, on a keyed hash chain.

Every recorder here goes through ``append``: it numbers the entry (``seq`` 1, 2, 3, ... without
gaps) and sets ``hash = HMAC-SHA256(AUDIT_CHAIN_KEY, prev_hash || canonical JSON of the entry)``.
Appends are serialised — on PostgreSQL by an advisory lock held until the transaction ends; on
SQLite every writing transaction already holds the database — so two appends never take the same
place in the chain. ``verify_chain`` (``manage.py verify_audit``) walks it back: an entry edited,
removed, inserted or moved by someone who can write the database but lacks the key is named.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry, LogEntryManager
from django.db import connection, transaction
from django.db.models.signals import post_save

from accounts.models import User
from voting.models import AuditEntry, Poll

# The first entry's ``prev_hash``.
GENESIS = "0" * 64
# pg_advisory_xact_lock(int4, int4): the two-key space never overlaps the one-key locks taken
# elsewhere (the polls' locks, voting/ballot_sql.py). "mvot", "audt".
_LOCK_KEYS = (0x6D766F74, 0x61756474)


# --- Recorders ----------------------------------------------------------------------------------


def record(*, actor: User | None, poll: Poll, action: str, changes: dict[str, Any] | None = None):
    return append(
        actor=actor,
        poll=poll,
        subject_type=AuditEntry.Subject.POLL,
        subject_id=poll.pk,
        title=poll.title,
        action=action,
        changes=changes,
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
    return record_event(
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        title=title,
        action=action,
        changes=changes,
    )


def record_event(
    *,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    title: str,
    action: str,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Anything else an official did (to a citizen, a group...). For a citizen ``title`` is a
    masked label ("citizen #12"), and ``changes`` carry masked values: never a phone number."""
    return append(
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        title=title,
        action=action,
        changes=changes,
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


# --- The chain ----------------------------------------------------------------------------------


def append(
    *,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    title: str,
    action: str,
    changes: dict[str, Any] | None = None,
    poll: Poll | None = None,
) -> AuditEntry:
    """The one writer of the audit log: the next entry of the chain, in the caller's transaction
    (it commits, or is rolled back, with what it records)."""
    # What is hashed must be what the database gives back: JSON round-tripped, text trimmed.
    changes = json.loads(json.dumps(changes or {}))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Held until the outermost transaction ends: the next appender reads this entry as
            # the head only once it is committed (or gone with a rollback).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(_LOCK_KEYS))
        head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
        entry = AuditEntry(
            seq=seq,
            prev_hash=prev_hash,
            actor=actor,
            actor_name=_name(actor)[:150],
            poll=poll,
            subject_type=subject_type,
            subject_id=subject_id,
            poll_title=(title or "")[:200],
            action=action,
            changes=changes,
        )
        entry.hash = entry_hash(prev_hash=prev_hash, content=content_of(entry))
        entry.save()
    return entry


def content_of(entry: Any) -> dict[str, Any]:
    """What an entry's hash covers: everything it says. Works on historical models too (the
    migration that chained the entries written before the chain existed)."""
    return {
        "seq": entry.seq,
        "at": _utc(entry.at),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "poll_id": entry.poll_id,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "title": entry.poll_title,
        "action": entry.action,
        "changes": entry.changes,
    }


def entry_hash(*, prev_hash: str, content: dict[str, Any], key: str | None = None) -> str:
    message = prev_hash.encode() + b"\n" + canonical(content)
    secret = (key if key is not None else settings.AUDIT_CHAIN_KEY).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


# --- Verifying it -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    count: int
    head_seq: int
    head_hash: str
    # The first entry that breaks the chain, and how; None where the whole chain holds.
    bad_entry_id: int | None = None
    bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


_FIELDS = (
    "id",
    "seq",
    "prev_hash",
    "hash",
    "at",
    "actor_id",
    "actor_name",
    "poll_id",
    "subject_type",
    "subject_id",
    "poll_title",
    "action",
    "changes",
)


@dataclass
class _Row:
    id: int
    seq: int
    prev_hash: str
    hash: str
    at: datetime
    actor_id: int | None
    actor_name: str
    poll_id: int | None
    subject_type: str
    subject_id: int | None
    poll_title: str
    action: str
    changes: Any


def _rows() -> Iterator[_Row]:
    queryset = AuditEntry.objects.order_by("seq").values_list(*_FIELDS)
    for values in queryset.iterator(chunk_size=2000):
        yield _Row(*values)


def verify_chain(*, rows: Iterable[_Row] | None = None, key: str | None = None) -> ChainReport:
    """Walk the chain from its first entry: numbers without gaps from 1, each entry linked to
    the one before, each hash recomputed with the key. Stops at the first entry that fails."""
    count, expected_seq, prev_hash = 0, 1, GENESIS
    for row in _rows() if rows is None else rows:
        problem = None
        if row.seq != expected_seq:
            problem = (
                f"expected seq {expected_seq}: entries {expected_seq}..{row.seq - 1} are missing"
                if row.seq > expected_seq
                else f"expected seq {expected_seq}: numbered out of order"
            )
        elif row.prev_hash != prev_hash:
            problem = (
                f"does not follow seq {expected_seq - 1} (prev_hash differs): an entry was "
                "removed, inserted or moved"
                if expected_seq > 1
                else "is not the start of the chain (prev_hash is not the genesis)"
            )
        elif not hmac.compare_digest(
            row.hash, entry_hash(prev_hash=row.prev_hash, content=content_of(row), key=key)
        ):
            problem = "its content does not match its hash: edited, or forged without the key"
        if problem:
            return ChainReport(
                count=count,
                head_seq=expected_seq - 1,
                head_hash=prev_hash,
                bad_entry_id=row.id,
                bad_seq=row.seq,
                problem=problem,
            )
        count, expected_seq, prev_hash = count + 1, row.seq + 1, row.hash
    return ChainReport(count=count, head_seq=expected_seq - 1, head_hash=prev_hash)


# --- Django's admin history, mirrored -----------------------------------------------------------

_FLAGS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}
# Models whose ``str()`` is an official's text (titles, names): shown as they are. Any other
# object is named by its type and id, since its text could be a citizen's (a phone, a comment).
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
    content_type = (
        f"{log.content_type.app_label}.{log.content_type.model}" if log.content_type_id else None
    )
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
        staff = User.objects.filter(pk=log.object_id, is_staff=True).exists()
        return f"{'official' if staff else 'citizen'} #{log.object_id}"
    return f"{content_type or 'object'} #{log.object_id}"


def _mirror_saved(sender, instance: LogEntry, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        record_admin_log(instance)
        instance._audit_mirrored = True


def connect_admin_log() -> None:
    """Mirror every admin history row into the chain, in the transaction that writes it.

    ``post_save`` sees rows saved one by one; the admin's bulk deletions write theirs with
    ``bulk_create`` (``LogEntryManager.log_actions``), which sends no signal, so that method is
    wrapped to mirror whatever the signal did not."""
    post_save.connect(_mirror_saved, sender=LogEntry, dispatch_uid="voting.audit.admin_log")
    original = LogEntryManager.log_actions
    if getattr(original, "_audit_wrapped", False):
        return

    def log_actions(self, user_id, queryset, action_flag, change_message="", **kwargs):
        # One transaction: the history rows and their audit entries are kept, or neither.
        with transaction.atomic(using=self.db):
            result = original(self, user_id, queryset, action_flag, change_message, **kwargs)
            for log in [result] if isinstance(result, LogEntry) else list(result):
                if not getattr(log, "_audit_mirrored", False):
                    record_admin_log(log)
                    log._audit_mirrored = True
        return result

    log_actions._audit_wrapped = True
    LogEntryManager.log_actions = log_actions
