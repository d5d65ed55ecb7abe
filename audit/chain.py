"""The audit log's keyed hash chain: the one writer of entries, and the walk that checks them.

``append`` numbers each entry (``seq`` 1, 2, 3, ... without gaps) and sets
``hash = HMAC-SHA256(AUDIT_CHAIN_KEY, prev_hash || canonical JSON of the entry)``. Appends are
serialised — on PostgreSQL by an advisory lock held until the transaction ends; on SQLite every
writing transaction already holds the database — so two appends never take the same place in the
chain. ``verify_chain`` (``manage.py verify_audit``) walks it back: an entry edited, removed,
inserted or moved by someone who can write the database but lacks the key is named.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction

from accounts.models import User
from audit.models import AuditEntry

# The first entry's ``prev_hash``.
GENESIS = "0" * 64
# pg_advisory_xact_lock(int4, int4): the two-key space never overlaps the one-key locks taken
# elsewhere (the polls' locks, voting/ballot_sql.py). "mvot", "audt".
_LOCK_KEYS = (0x6D766F74, 0x61756474)


def append(
    *,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    title: str,
    action: str,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """The next entry of the chain, in the caller's transaction (it commits, or is rolled back,
    with what it records)."""
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
            subject_type=subject_type,
            subject_id=subject_id,
            title=(title or "")[:200],
            action=action,
            changes=changes,
        )
        entry.hash = entry_hash(prev_hash=prev_hash, content=content_of(entry))
        entry.save()
    return entry


def _name(actor: User | None) -> str:
    return actor.get_username() if actor and actor.get_username() else str(actor or "-")


class Hashable(Protocol):
    """What ``content_of`` reads: an ``AuditEntry`` or a row of ``verify_chain``."""

    seq: int
    at: datetime
    actor_id: int | None
    actor_name: str
    subject_type: str
    subject_id: int | None
    title: str
    action: str
    changes: Any


def content_of(entry: Hashable) -> dict[str, Any]:
    """What an entry's hash covers: everything it says.

    The key "poll_id" stays: entries written while the log lived in voting hashed their poll
    reference, which was always the subject of a poll entry and nothing otherwise (the migration
    that dropped the column checked it), so old and new entries verify alike."""
    return {
        "seq": entry.seq,
        "at": _utc(entry.at),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "poll_id": entry.subject_id if entry.subject_type == AuditEntry.Subject.POLL else None,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "title": entry.title,
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


@dataclass
class Row:
    id: int
    seq: int
    prev_hash: str
    hash: str
    at: datetime
    actor_id: int | None
    actor_name: str
    subject_type: str
    subject_id: int | None
    title: str
    action: str
    changes: Any


_FIELDS = (
    "id",
    "seq",
    "prev_hash",
    "hash",
    "at",
    "actor_id",
    "actor_name",
    "subject_type",
    "subject_id",
    "title",
    "action",
    "changes",
)


def _rows() -> Iterator[Row]:
    queryset = AuditEntry.objects.order_by("seq").values_list(*_FIELDS)
    for values in queryset.iterator(chunk_size=2000):
        yield Row(*values)


def verify_chain(*, rows: Iterable[Row] | None = None, key: str | None = None) -> ChainReport:
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


def stored_hash(seq: int) -> str | None:
    """The hash the entry numbered ``seq`` carries now (None: no such entry)."""
    return AuditEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
