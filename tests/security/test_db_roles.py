"""The server's database role (``manage.py db_roles``) and the audit chain on the real server.

The attacker: whoever holds the server's database credentials — a compromised web process, a
leaked DATABASE_URL. Before, the server's role owned the tables, so it could TRUNCATE the audit
log or switch its append-only trigger off. As the role ``db_roles`` makes, it can do the app's
work (cast and count ballots, sessions, devices, the audit log's appends) and nothing that
removes history or changes the schema. Then: the owner's (or a superuser's) tampering is named
by ``verify_audit`` run as an operator would, and concurrent appends never fork the chain.

PostgreSQL only; each test makes a role of its own name and drops it afterwards.
"""

import subprocess
import sys
import time
import uuid
from datetime import timedelta
from io import StringIO

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import verify_chain
from audit.models import AuditEntry
from audit.services import record
from tests.ballot_box import assert_box_consistent, assert_receipts_kept
from tests.concurrency import run_at_once
from tests.factories import OfficialFactory, PollFactory
from tests.reliability.conftest import BallotRequest, bulk_citizens, request, run_load
from tests.reliability.servers import (
    BASE_DIR,
    SERVER_APPLICATION_NAME,
    GunicornServer,
    server_environment,
)
from voting.models import BoardEntry, CountState, Envelope, Poll

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AUDIT = AuditEntry._meta.db_table


def new_role_name() -> str:
    # Roles belong to the whole PostgreSQL cluster: a name no other run uses.
    return f"mvoting_app_test_{uuid.uuid4().hex[:10]}"


def drop_role(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f'DROP OWNED BY "{name}"')  # its grants in this database
            cursor.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def app_role(transactional_db):
    """The server's role, made by ``manage.py db_roles`` as the owner (the test's own role)."""
    name = new_role_name()
    out = StringIO()
    call_command("db_roles", app_role=name, stdout=out)
    assert out.getvalue().startswith(f"role {name}: data rights on ")
    yield name
    drop_role(name)


def connect_as(role: str) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        dbname=db["NAME"],
        user=role,
        autocommit=True,
    )


def url_as(role: str) -> str:
    db = connection.settings_dict
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return (
        f"postgres://{role}@{host}:{port}/{db['NAME']}?application_name={SERVER_APPLICATION_NAME}"
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``manage.py <args>`` as a process of its own on the test database (``DATABASE_URL`` in
    ``env`` to connect as another role)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=server_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def history(n: int) -> list[AuditEntry]:
    official = OfficialFactory()
    return [
        record(
            actor=official,
            subject_type=AuditEntry.Subject.CITIZEN,
            subject_id=i,
            title=f"citizen #{i}",
            action=AuditEntry.Action.APPROVE_CHANGE,
            changes={"verification": ["resident", "phone"], "reason": "전출"},
        )
        for i in range(1, n + 1)
    ]


# --- What the server's role cannot do -----------------------------------------------------------

REFUSED = {
    "truncate the audit log": "TRUNCATE audit_auditentry",
    "truncate it with cascade": "TRUNCATE audit_auditentry CASCADE",
    "truncate sealed envelopes": "TRUNCATE voting_envelope",
    "truncate the board": "TRUNCATE voting_boardentry",
    "truncate sessions": "TRUNCATE django_session",
    "disable the append-only trigger": (
        "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only"
    ),
    "disable every trigger": "ALTER TABLE audit_auditentry DISABLE TRIGGER ALL",
    "drop the trigger": "DROP TRIGGER audit_auditentry_append_only ON audit_auditentry",
    "replace the trigger's function": (
        "CREATE OR REPLACE FUNCTION audit_auditentry_append_only() RETURNS trigger AS "
        "$$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql"
    ),
    "update an audit entry": "UPDATE audit_auditentry SET actor_name = 'nobody'",
    "delete audit entries": "DELETE FROM audit_auditentry",
    "drop the audit log": "DROP TABLE audit_auditentry",
    "rename it away": "ALTER TABLE audit_auditentry RENAME TO old_log",
    "alter a table": "ALTER TABLE voting_poll ADD COLUMN backdoor text",
    "create a table": "CREATE TABLE backdoor (id int)",
    "create a trigger": (
        "CREATE TRIGGER t BEFORE INSERT ON voting_poll "
        "FOR EACH ROW EXECUTE FUNCTION audit_auditentry_append_only()"
    ),
    "grant itself the owner's rights": "GRANT postgres TO CURRENT_USER",
}


@pytest.mark.parametrize("statement", REFUSED.values(), ids=REFUSED.keys())
def test_the_servers_role_cannot_remove_history_or_change_the_schema(app_role, statement):
    """A leaked server credential: every way to wipe, rewrite or unprotect the audit log (and
    to TRUNCATE the ballot box) is refused for lack of privilege, and the chain still holds."""
    entries = history(3)
    with connect_as(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert AuditEntry.objects.count() == 3
    assert verify_chain().head_hash == entries[-1].hash


def test_the_servers_role_reads_and_appends_to_the_audit_log(app_role):
    """Appending (with the advisory lock) and reading the chain are all the log needs."""
    history(2)
    with connect_as(app_role) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(1836478324, 1635083380)")
        assert conn.execute("SELECT count(*) FROM audit_auditentry").fetchone() == (2,)
        cursor = conn.execute(
            "SELECT has_table_privilege(current_user, %s, 'INSERT'),"
            " has_table_privilege(current_user, %s, 'UPDATE'),"
            " has_table_privilege(current_user, %s, 'DELETE')",
            [AUDIT, AUDIT, AUDIT],
        )
        assert cursor.fetchone() == (True, False, False)
        cursor = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            " AND (has_table_privilege(current_user, schemaname || '.' || tablename, 'TRUNCATE')"
            " OR tableowner = current_user)"
        )
        assert cursor.fetchone() == (0,)


def test_the_app_does_its_work_as_the_servers_role(app_role):
    """The role is enough for production: gunicorn and the counter, connected as it, take
    ballots (participations, envelopes, idempotency), register a device, count to the end
    (DELETE of envelopes, the board, the counters), append to the audit log and verify it."""
    server = GunicornServer("app-role", workers=2, DATABASE_URL=url_as(app_role))
    try:
        server.start()
        poll = PollFactory(options=["A", "B"])
        options = list(poll.options.order_by("position").values_list("pk", flat=True))
        tokens = bulk_citizens(12)
        ballots = [
            BallotRequest(token, poll.pk, options[i % 2], key=uuid.uuid4().hex)
            for i, token in enumerate(tokens)
        ]
        server.wait_healthy()
        answers = run_load(server.port, ballots, concurrency=4, deadline=120)
        assert [a.status for a in answers] == [201] * len(ballots), [a.body for a in answers]
        device = request(
            server.port,
            "POST",
            "/api/v1/me/devices/",
            body=b'{"token": "push-token-1", "platform": "android"}',
            headers={"Content-Type": "application/json", "X-Session-Token": tokens[0]},
        )
        assert device.status == 201, device.body
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = %s",
                [SERVER_APPLICATION_NAME],
            )
            assert [row[0] for row in cursor.fetchall()] == [app_role]
    finally:
        server.close()

    Poll.objects.filter(pk=poll.pk).update(
        closes_at=timezone.now() - timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS + 1)
    )
    as_app = {"DATABASE_URL": url_as(app_role)}
    counted = manage("count_ballots", "--once", **as_app)
    assert counted.returncode == 0, counted.stdout + counted.stderr
    assert CountState.objects.get(pk=poll.pk).final
    assert not Envelope.objects.filter(poll=poll).exists()
    assert BoardEntry.objects.filter(poll=poll).exists()
    assert_box_consistent([poll.pk])
    assert_receipts_kept([a.body["receipt"] for a in answers], [poll.pk])

    appended = manage(
        "shell",
        "-c",
        "from audit.services import record; record(actor=None, subject_type='group',"
        " subject_id=1, title='g', action='replace_members', changes={'members': 3})",
        **as_app,
    )
    assert appended.returncode == 0, appended.stdout + appended.stderr
    verified = manage("verify_audit", **as_app)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("audit log OK: 1 entries")


# --- db_roles itself ----------------------------------------------------------------------------


def test_db_roles_is_idempotent_and_tables_made_later_follow(app_role):
    """Re-run after every migrate: the same rights again, and a table the owner creates later
    (the next migration) is usable by the server without TRUNCATE, while the audit log stays
    append-only."""
    out = StringIO()
    call_command("db_roles", app_role=app_role, stdout=out)
    assert out.getvalue().startswith(f"role {app_role}: data rights on ")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE h1_later (id bigserial PRIMARY KEY, v int)")
    try:
        with connect_as(app_role) as conn:
            conn.execute("INSERT INTO h1_later (v) VALUES (1)")
            conn.execute("UPDATE h1_later SET v = 2")
            assert conn.execute("SELECT v FROM h1_later").fetchall() == [(2,)]
            conn.execute("DELETE FROM h1_later")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("TRUNCATE h1_later")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM audit_auditentry")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE h1_later")


def test_db_roles_refuses_a_role_that_could_do_more(transactional_db):
    """The owner itself, a superuser, or a role that owns a table is refused by name: the
    server's role must hold data rights only."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="is the role running this"):
        call_command("db_roles", app_role=owner, stdout=StringIO())

    superuser, owning = new_role_name(), new_role_name()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{superuser}" SUPERUSER')
        cursor.execute(f'CREATE ROLE "{owning}"')
        cursor.execute(f'CREATE TABLE h1_owned (id int); ALTER TABLE h1_owned OWNER TO "{owning}"')
    try:
        with pytest.raises(CommandError, match="is a superuser"):
            call_command("db_roles", app_role=superuser, stdout=StringIO())
        with pytest.raises(CommandError, match="owns h1_owned"):
            call_command("db_roles", app_role=owning, stdout=StringIO())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE h1_owned")
        drop_role(superuser)
        drop_role(owning)
    with pytest.raises(CommandError, match="lower-case identifier"):
        call_command("db_roles", app_role='x"; DROP TABLE voting_poll; --', stdout=StringIO())


# --- The owner's tampering, and concurrent appends -----------------------------------------------


def test_verify_audit_run_by_an_operator_names_the_owners_edit(transactional_db):
    """The owner (or a superuser) switches the trigger off and rewrites entry 2: the operator's
    ``manage.py verify_audit`` exits 1 naming it; untouched, it exits 0 with the head."""
    entries = history(3)
    before = manage("verify_audit")
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip() == f"audit log OK: 3 entries; head seq 3 hash {entries[2].hash}"

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only")
        cursor.execute(
            "UPDATE audit_auditentry SET changes = %s WHERE id = %s",
            ['{"verification": ["resident", "resident"]}', entries[1].pk],
        )
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only")

    after = manage("verify_audit")
    assert after.returncode == 1
    assert f"audit log BROKEN at entry id {entries[1].pk} (seq 2)" in after.stderr


def test_concurrent_appends_make_one_unbroken_chain(transactional_db):
    """Officials acting at the same instant, each append inside a transaction that goes on a
    little after it (as an admin view's does): 8 threads x 5 appends, each on its own
    connection, give seq 1..40 linked without a fork, and no append fails."""
    threads, per_thread = 8, 5

    def official_at_work(index: int) -> None:
        for n in range(per_thread):
            with transaction.atomic():
                record(
                    actor=None,
                    subject_type=AuditEntry.Subject.GROUP,
                    subject_id=index,
                    title=f"group {index}",
                    action=AuditEntry.Action.REPLACE_MEMBERS,
                    changes={"n": n},
                )
                time.sleep(0.01)  # the rest of the caller's transaction

    run_at_once([lambda i=i: official_at_work(i) for i in range(threads)])  # no append fails
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads * per_thread + 1))
    report = verify_chain()
    assert (report.ok, report.count) == (True, threads * per_thread)
