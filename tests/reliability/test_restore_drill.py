"""The restore drill: a backup taken with ``deploy/backup.sh`` restores into a fresh database
whose ballot box and audit log verify as the original's did.

The test database is filled by the product's own paths (polls published by an official, citizens'
ballots through ``voting.casting``, the real counter, the audit chain, the notification outbox),
committed (``transaction=True``) so that ``pg_dump`` — another session — sees it. The dump is
restored into a database this test creates and drops; everything after that runs as separate
``manage.py`` processes pointed at the restored copy, as an operator would run them: the restored
copy is judged by the same commands production is, never by this process's ORM.
"""

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from tests.reliability.drill import (
    BACKUP,
    K,
    Restored,
    board_file,
    conninfo,
    digests,
    manage,
    ok,
    on_original,
    product_activity,
    row_counts,
    run,
    standalone_verifier,
    url_for,
)
from tests.reliability.servers import database_url_for_servers, server_environment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _small_batches(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.BALLOT_BATCH_MAX = 3 * K


@pytest.fixture
def fresh_database() -> Iterator[Restored]:
    """An empty database on the same server, dropped at the end whatever happens."""
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"[:63]
    maintenance = conninfo("postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield Restored(name=name, url=url_for(name))
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def backup_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="drill-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- The drill ----------------------------------------------------------------------------------


def test_a_restored_backup_verifies_and_holds_what_the_original_held(fresh_database, backup_dir):
    activity = product_activity()
    dump = backup_dir / "mvoting.dump"
    ok(run(BACKUP, "dump", database_url_for_servers(), dump))
    original_counts = row_counts(on_original)
    original_digests = digests(on_original)

    # A dump cut short (a full disk, a killed copy) is caught before anyone relies on it.
    truncated = backup_dir / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    assert run(BACKUP, "list", truncated).returncode != 0
    assert "voting_envelope" in ok(run(BACKUP, "list", dump))

    # The checksum written beside the dump is checked before a restore starts.
    damaged = backup_dir / "damaged.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one bit-rotten byte in the middle of the archive
    damaged.write_bytes(bytes(data))
    (backup_dir / "damaged.dump.sha256").write_text(
        (backup_dir / "mvoting.dump.sha256").read_text().replace("mvoting.dump", "damaged.dump")
    )
    refused = run(BACKUP, "restore", damaged, fresh_database.url)
    assert refused.returncode != 0
    assert "FAILED" in refused.stdout + refused.stderr  # sha256sum's word for it
    assert fresh_database.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [
        (0,)
    ]

    ok(run(BACKUP, "restore", dump, fresh_database.url))

    # Every table holds as many rows, and the ballot box and the chain the very same rows.
    assert row_counts(fresh_database.execute) == original_counts
    assert digests(fresh_database.execute) == original_digests
    closed, open_ = activity.closed_poll, activity.open_poll
    participations = dict(
        fresh_database.execute(
            "SELECT poll_id, count(*) FROM voting_participation GROUP BY poll_id"
        )
    )
    assert participations == {closed: 4 * K + 3, open_: 3 * K + 2}

    # The operator's checks pass on the restored copy.
    tallies = ok(manage(fresh_database, "verify_tallies"))
    assert f"poll {closed}: ok ({4 * K + 3} ballots counted, 0 sealed" in tallies
    assert f"poll {open_}: ok ({2 * K + 2} ballots counted, {K} sealed" in tallies
    # The head recorded from the original is still there, unchanged: nothing cut off the end.
    chain = ok(manage(fresh_database, "verify_audit", "--head", activity.audit_head))
    assert "audit log OK" in chain

    # A citizen's verifier passes the restored board and finds a receipt on it.
    board = board_file(fresh_database, closed, backup_dir)
    verified = standalone_verifier(board, closed, activity.receipts[closed][0])
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The restored copy is a working ballot box: the envelopes sealed before the backup still
    # open with the counter's key, and count to the end on the board that was restored.
    fresh_database.execute(
        "UPDATE voting_poll SET closes_at = now() - interval '1 hour' WHERE id = %s", [open_]
    )
    assert f"counted {K} ballots" in ok(manage(fresh_database, "count_ballots", "--once"))
    tallies = ok(manage(fresh_database, "verify_tallies", str(open_)))
    assert f"poll {open_}: ok ({3 * K + 2} ballots counted, 0 sealed" in tallies
    board = board_file(fresh_database, open_, backup_dir)
    last_voter = activity.receipts[open_][-1]  # sealed at the backup, counted after the restore
    verified = standalone_verifier(board, open_, last_voter)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_tampering_with_a_restored_copy_is_named(fresh_database, backup_dir):
    activity = product_activity()
    dump = backup_dir / "mvoting.dump"
    ok(run(BACKUP, "dump", database_url_for_servers(), dump))
    ok(run(BACKUP, "restore", dump, fresh_database.url))
    closed = activity.closed_poll
    db = fresh_database

    # A counted ballot changed inside its board entry (by someone without the signing key).
    seq, ballots = db.execute(
        "SELECT seq, ballots FROM voting_boardentry WHERE poll_id = %s ORDER BY seq LIMIT 1",
        [closed],
    )[0]
    options = [
        row[0]
        for row in db.execute(
            "SELECT id FROM voting_option WHERE poll_id = %s ORDER BY id", [closed]
        )
    ]
    changed = [list(ballot) for ballot in ballots]
    changed[0] = [next(o for o in options if o not in changed[0])]
    db.execute(
        "UPDATE voting_boardentry SET ballots = %s::jsonb WHERE poll_id = %s AND seq = %s",
        [json.dumps(changed), closed, seq],
    )
    result = manage(db, "verify_tallies", str(closed))
    assert result.returncode == 1
    assert f"poll {closed}: MISMATCH" in result.stdout
    assert f"batch seq {seq}: its contents hash to" in result.stdout, result.stdout
    db.execute(
        "UPDATE voting_boardentry SET ballots = %s::jsonb WHERE poll_id = %s AND seq = %s",
        [json.dumps(ballots), closed, seq],
    )
    ok(manage(db, "verify_tallies", str(closed)))

    # A counter moved by one.
    db.execute(
        "UPDATE voting_tallycell SET count = count + 1 WHERE poll_id = %s AND dimension = '' "
        "AND value = '' AND option_id = %s",
        [closed, options[0]],
    )
    result = manage(db, "verify_tallies", str(closed))
    assert result.returncode == 1
    assert f"poll {closed}: MISMATCH counters" in result.stdout, result.stdout
    assert "differ from the board" in result.stdout

    # An audit entry edited by the database's owner, the append-only trigger switched off.
    ok(manage(db, "verify_audit", "--head", activity.audit_head))
    entry_id = db.execute("SELECT id FROM audit_auditentry WHERE seq = 2")[0][0]
    # The append-only trigger came back with the restore: without switching it off, refused.
    with pytest.raises(psycopg.errors.RaiseException):
        db.execute("UPDATE audit_auditentry SET title = 'x' WHERE seq = 2")
    db.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only")
    db.execute("UPDATE audit_auditentry SET title = title || ' (수정)' WHERE seq = 2")
    db.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only")
    result = manage(db, "verify_audit")
    assert result.returncode == 1
    assert f"BROKEN at entry id {entry_id} (seq 2)" in result.stderr, result.stderr


def test_restore_refuses_a_database_that_already_has_tables(backup_dir):
    """Restoring over the live database would mix two states of the ballot box: refused."""
    dump = backup_dir / "mvoting.dump"
    ok(run(BACKUP, "dump", database_url_for_servers(), dump))
    result = run(BACKUP, "restore", dump, database_url_for_servers())
    assert result.returncode == 1
    assert "refused: the target database has" in result.stderr


@pytest.fixture
def gpg_home() -> Iterator[dict[str, str]]:
    """A keyring of its own holding a backup key pair (as the city's backup officer would), and
    the environment that uses it. A short path: gpg-agent's socket lives in it."""
    home = tempfile.mkdtemp(prefix="gpg-", dir="/tmp")
    env = server_environment(GNUPGHOME=home)
    try:
        made = run(
            "gpg",
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "mVoting backups <backups@example.invalid>",
            "future-default",
            "default",
            "never",
            env=env,
        )
        assert made.returncode == 0, made.stderr
        yield env
    finally:
        run("gpgconf", "--kill", "gpg-agent", env=env)
        shutil.rmtree(home, ignore_errors=True)


def test_an_encrypted_backup_restores_and_is_unreadable_without_its_key(
    fresh_database, backup_dir, gpg_home
):
    activity = product_activity()
    voter_phone = on_original("SELECT phone FROM accounts_user WHERE phone IS NOT NULL LIMIT 1")
    voter_phone = voter_phone[0][0]

    # In clear, a dump holds personal data for anyone with pg_restore: phone numbers among it.
    clear = backup_dir / "clear.dump"
    ok(run(BACKUP, "dump", database_url_for_servers(), clear))
    readable = run("pg_restore", "--data-only", "--table=accounts_user", "--file=-", clear)
    assert voter_phone in ok(readable)

    encrypted_env = {**gpg_home, "BACKUP_GPG_RECIPIENT": "backups@example.invalid"}
    ok(run(BACKUP, "dump", database_url_for_servers(), backup_dir / "city.dump", env=encrypted_env))
    sealed = backup_dir / "city.dump.gpg"
    assert sealed.exists()
    assert not (backup_dir / "city.dump").exists()  # nothing written in clear on the way
    assert not (backup_dir / "city.dump.gpg.partial").exists()
    assert voter_phone.encode() not in sealed.read_bytes()
    assert run("pg_restore", "--list", sealed).returncode != 0  # not an archive without the key

    # Whoever holds the file but not the private key reads nothing.
    stranger = tempfile.mkdtemp(prefix="gpg-", dir="/tmp")
    try:
        stolen = run(
            BACKUP,
            "restore",
            sealed,
            fresh_database.url,
            env=server_environment(GNUPGHOME=stranger),
        )
        assert stolen.returncode != 0
        assert fresh_database.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ) == [(0,)]
    finally:
        run("gpgconf", "--kill", "gpg-agent", env=server_environment(GNUPGHOME=stranger))
        shutil.rmtree(stranger, ignore_errors=True)

    # The key holder restores it, and the restored copy verifies.
    ok(run(BACKUP, "restore", sealed, fresh_database.url, env=gpg_home))
    tallies = ok(manage(fresh_database, "verify_tallies"))
    assert f"poll {activity.closed_poll}: ok ({4 * K + 3} ballots counted" in tallies
    ok(manage(fresh_database, "verify_audit", "--head", activity.audit_head))
