"""Moving the audit log from voting into its own app keeps every row and the whole chain.

Entries are written as the log stood before the move (voting's model, its poll column, hashed
by migration 0007's own formula), then the migrations run: the table is renamed with its trigger,
function and sequence (PostgreSQL), the poll column goes once every row has been checked, and
``verify_chain`` — the new code, which derives "poll_id" from the subject — still says OK. A row
whose poll is not its subject stops the migration before anything changes. Runs on SQLite and on
PostgreSQL.
"""

import importlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.chain import verify_chain
from audit.models import AuditEntry
from audit.services import record
from tests.factories import OfficialFactory

BEFORE = [("voting", "0007_audit_chain"), ("audit", None)]
old_chain = importlib.import_module("voting.migrations.0007_audit_chain")


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def _migrate(targets):
    executor = _executor()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _migrate_to_latest() -> None:
    executor = _executor()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def old_apps(transactional_db):
    """The schema as it was before the move; the latest schema again afterwards, whatever the
    test did (later tests need it)."""
    try:
        yield _migrate(BEFORE)
    finally:
        _migrate_to_latest()


def write_old_history(old_apps) -> list:
    """Entries as voting wrote them: a poll (still there, and one since deleted), moderation, a
    citizen, the admin history; each hashed and chained with 0007's formula."""
    OldEntry = old_apps.get_model("voting", "AuditEntry")
    official = OfficialFactory(username="kim.official")
    # The poll as the schema then was (the product's Poll and Option have moved on since).
    now = timezone.now()
    poll = old_apps.get_model("voting", "Poll").objects.create(
        title="버스 노선 개편",
        kind="single",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=6),
        published=True,
    )
    rows = [
        dict(poll_id=poll.pk, subject_type="poll", subject_id=poll.pk, poll_title=poll.title),
        dict(poll_id=987654, subject_type="poll", subject_id=987654, poll_title="지워진 초안"),
        dict(poll_id=None, subject_type="proposal", subject_id=7, poll_title="공원 조성"),
        dict(poll_id=None, subject_type="comment", subject_id=8, poll_title="가" * 80),
        dict(poll_id=None, subject_type="citizen", subject_id=12, poll_title="citizen #12"),
        dict(poll_id=None, subject_type="admin", subject_id=3, poll_title="문화"),
    ]
    prev_hash, written = old_chain.GENESIS, []
    for seq, row in enumerate(rows, 1):
        entry = OldEntry(
            seq=seq,
            prev_hash=prev_hash,
            at=timezone.now(),
            actor_id=official.pk,
            actor_name=official.username,
            action="edit",
            changes={"title": ["옛", "새"], "n": seq},
            **row,
        )
        # Hashed before the INSERT, as the app did: the trigger refuses any later UPDATE.
        entry.hash = old_chain.entry_hash(prev_hash=prev_hash, content=old_chain.content_of(entry))
        entry.save()
        prev_hash = entry.hash
        written.append(entry)
    return written


def test_the_move_keeps_every_row_and_the_chain_verifies(old_apps):
    old = write_old_history(old_apps)

    _migrate_to_latest()

    report = verify_chain()
    assert report.ok, report.problem
    assert (report.count, report.head_hash) == (len(old), old[-1].hash)
    moved = list(AuditEntry.objects.order_by("seq"))
    assert [(e.pk, e.seq, e.hash) for e in moved] == [(e.pk, e.seq, e.hash) for e in old]
    assert [(e.subject_type, e.subject_id, e.title) for e in moved] == [
        (e.subject_type, e.subject_id, e.poll_title) for e in old
    ]
    # The next entry follows the moved head, numbered and linked by the new code.
    new = record(actor=None, subject_type="group", subject_id=1, title="g", action="edit")
    assert (new.seq, new.prev_hash) == (len(old) + 1, old[-1].hash)
    assert verify_chain().ok
    # The official role's right to read the log followed the model (its content type moved).
    assert Permission.objects.filter(
        content_type__app_label="audit", codename="view_auditentry"
    ).exists()
    assert not Permission.objects.filter(
        content_type__app_label="voting", codename__contains="audit"
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_on_postgresql_the_trigger_and_the_sequence_follow_the_table(old_apps):
    write_old_history(old_apps)

    _migrate_to_latest()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditentry'::regclass "
            "AND NOT tgisinternal"
        )
        assert cursor.fetchall() == [("audit_auditentry_append_only",)]
        cursor.execute("SELECT pg_get_serial_sequence('audit_auditentry', 'id')")
        assert cursor.fetchone()[0] == "public.audit_auditentry_id_seq"
        cursor.execute(
            "SELECT to_regclass('voting_auditentry'), to_regproc('voting_auditentry_append_only')"
        )
        assert cursor.fetchone() == (None, None)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditentry SET actor_name = 'nobody'")
    # New rows take ids after the old ones: the sequence moved, it did not restart.
    entry = record(actor=None, subject_type="group", subject_id=1, title="g", action="edit")
    assert entry.pk > max(AuditEntry.objects.exclude(pk=entry.pk).values_list("pk", flat=True))


def test_going_back_restores_the_poll_column_and_forward_again_verifies(old_apps):
    old = write_old_history(old_apps)
    _migrate_to_latest()

    back = _migrate(BEFORE)

    OldEntry = back.get_model("voting", "AuditEntry")
    assert list(OldEntry.objects.order_by("seq").values_list("poll_id", flat=True)) == [
        e.poll_id for e in old
    ]
    _migrate_to_latest()
    assert verify_chain().ok


def test_an_entry_whose_poll_is_not_its_subject_stops_the_migration(old_apps):
    """Dropping the column would make such an entry fail verification forever: the migration
    refuses, names it, and changes nothing."""
    old = write_old_history(old_apps)
    OldEntry = old_apps.get_model("voting", "AuditEntry")
    odd = OldEntry.objects.get(seq=3)
    _as_owner("voting_auditentry", "UPDATE voting_auditentry SET poll_id = 5 WHERE id = %s", odd.pk)

    with pytest.raises(RuntimeError, match=rf"id {odd.pk} \(seq 3\): subject proposal #7, poll 5"):
        _migrate_to_latest()

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(poll_id) FROM audit_auditentry")
        assert cursor.fetchone() == (len(old), 3)  # nothing dropped
    _as_owner(
        "audit_auditentry", "UPDATE audit_auditentry SET poll_id = NULL WHERE id = %s", odd.pk
    )


def _as_owner(table: str, statement: str, pk: int) -> None:
    """An UPDATE only the table's owner can make on PostgreSQL (the trigger off meanwhile)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(statement, [pk])
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
