"""The restore drill's tools (tests/reliability/test_restore_drill.py): the product's activity
to back up, the database server seen from outside, and the operator's commands as processes."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.db import connection
from psycopg.conninfo import make_conninfo

from audit import services as audit
from audit.chain import verify_chain
from audit.models import AuditEntry
from tests.ballot_box import after_close, assert_box_consistent, cast_many, count_now
from tests.factories import OfficialFactory, PollFactory
from tests.reliability.servers import BASE_DIR, database_url_for_servers, server_environment
from voting import sealing
from voting.models import BoardEntry, Poll
from voting.services.lifecycle import close_poll, publish_poll

K = 5  # BALLOT_BATCH_MIN, for this process and every manage.py it starts
BACKUP = BASE_DIR / "deploy" / "backup.sh"
VERIFIER = BASE_DIR / "verifier" / "verify_board.py"
PYTHON3 = shutil.which("python3", path=os.defpath) or sys.executable
# Tables whose rows must come back identical, not merely as many: the ballot box and the chain.
EXACT_TABLES = (
    "voting_participation",
    "voting_envelope",
    "voting_boardentry",
    "voting_boardtracker",
    "voting_tallycell",
    "voting_countstate",
    "audit_auditentry",
    "accounts_user",
)


# --- The database server, from outside ----------------------------------------------------------


def conninfo(dbname: str) -> str:
    """libpq connection string of the test database's server, for database ``dbname``."""
    db = connection.settings_dict
    params = {"dbname": dbname, "host": db.get("HOST") or "127.0.0.1", "user": db.get("USER")}
    params.update(
        {key: str(db[key.upper()]) for key in ("port", "password") if db.get(key.upper())}
    )
    return make_conninfo(**{key: value for key, value in params.items() if value})


def url_for(dbname: str) -> str:
    """The test database's URL with another database name."""
    original = database_url_for_servers()
    prefix, _, rest = original.rpartition("/")
    query = rest.partition("?")[2]
    return f"{prefix}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")


@dataclass
class Restored:
    name: str
    url: str

    def execute(self, statement: str, params: list | None = None) -> list[tuple]:
        """SQL on the restored copy, as its owner (someone who can write the database)."""
        with psycopg.connect(conninfo(self.name), autocommit=True) as conn:
            cursor = conn.execute(statement, params or [])
            return cursor.fetchall() if cursor.description else []


# --- The operator's commands, and what the original holds ---------------------------------------


def run(*command: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        cwd=BASE_DIR,
        env=env or server_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def manage_url(url: str, *args: str) -> subprocess.CompletedProcess:
    """``manage.py <args>`` as its own process on the database at ``url``, with the keys of the
    original's deployment (the development keys all derive from the same SECRET_KEY)."""
    env = server_environment(DATABASE_URL=url, BALLOT_BATCH_MIN=str(K), BALLOT_BATCH_MAX=str(3 * K))
    return run(sys.executable, "manage.py", *args, env=env)


def manage(restored: Restored, *args: str) -> subprocess.CompletedProcess:
    """``manage.py <args>`` on the restored copy."""
    return manage_url(restored.url, *args)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


# --- What the original holds --------------------------------------------------------------------


@dataclass
class Activity:
    closed_poll: int
    open_poll: int
    receipts: dict[int, list[str]]
    audit_head: str  # SEQ:HASH, as verify_audit prints it and takes it back with --head


def product_activity() -> Activity:
    """A city's day in miniature, through the product's own services, committed."""
    official = OfficialFactory()
    closed = PollFactory(published=False, options=["찬성", "반대", "보류"])
    publish_poll(poll=closed, by=official)
    receipts = {closed.pk: cast_many(closed, 4 * K + 3)}
    close_poll(poll=closed, by=official)
    count_now(now=after_close(closed))  # counted to the end: final, nothing sealed
    open_ = PollFactory(published=False)
    publish_poll(poll=open_, by=official)
    receipts[open_.pk] = cast_many(open_, 3 * K + 2)
    count_now()  # open: the oldest counted, the newest K left sealed
    audit.record(
        actor=official,
        subject_type=AuditEntry.Subject.PROPOSAL,
        subject_id=7,
        title="공원 조성",
        action=AuditEntry.Action.ACCEPT,
        changes={"note": "검토 완료"},
    )
    assert_box_consistent([closed.pk, open_.pk])
    assert BoardEntry.objects.filter(poll=open_).exists()
    assert Poll.objects.get(pk=open_.pk).envelopes.count() == K
    head = verify_chain()
    assert head.ok and head.count == 4  # two publications, a close, an acceptance
    return Activity(closed.pk, open_.pk, receipts, f"{head.head_seq}:{head.head_hash}")


def row_counts(execute) -> dict[str, int]:
    tables = [
        row[0]
        for row in execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    counts = {}
    for table in tables:
        # Names from the catalogue, not from input.
        counts[table] = execute(f'SELECT count(*) FROM "{table}"')[0][0]  # noqa: S608
    return counts


def digests(execute) -> dict[str, str]:
    """Each exact table's rows, as text, in one order, hashed."""
    return {
        table: execute(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"  # noqa: S608
        )[0][0]
        for table in EXACT_TABLES
    }


def on_original(statement, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall()


def board_file(restored: Restored, poll_id: int, directory: Path) -> Path:
    """The restored copy's board of ``poll_id`` as the API serves it, saved for the verifier."""
    path = directory / f"board-{poll_id}.json"
    code = (
        "import json, pathlib; from voting import board; "
        f"pathlib.Path({str(path)!r}).write_text("
        f"json.dumps(board.document(poll_id={poll_id}, limit=None), default=str))"
    )
    ok(manage(restored, "shell", "-c", code))
    return path


def standalone_verifier(board: Path, poll_id: int, *receipts: str) -> subprocess.CompletedProcess:
    """The citizen's verifier: a bare interpreter, nothing of the project on its path."""
    command = [PYTHON3, "-I", str(VERIFIER), "--file", str(board), "--poll", str(poll_id)]
    command += ["--key", sealing.verify_key_hex(), "--all-signatures"]
    for code in receipts:
        command += ["--receipt", code]
    return subprocess.run(
        command,
        cwd="/",
        env={"PATH": os.defpath, "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
