"""Ceilings A and B: PostgreSQL alone, driven by pgbench (16 clients).

A, the floor: one-row ``INSERT ... ON CONFLICT DO NOTHING`` on a unique key (simple protocol).
B, the product's own cast SQL: every statement one ballot request runs, captured from the product
by sending one real ballot through it in-process, and replayed with each transaction a distinct
citizen, in the protocol the product speaks (``protocol()``: simple unless the product binds
server-side). On PostgreSQL: the session and the user (autocommit), then one transaction (voting/
casting.py): the verdict SELECT (eligibility, open, choice; ``voting/ballot_sql.py``), ``INSERT``
participation ``ON CONFLICT DO NOTHING RETURNING``, ``INSERT`` the sealed envelope, (the idempotency
record, only with an Idempotency-Key: the load clients send none), ``COMMIT``. The sealed envelope
is the captured one, as a ``bytea`` literal (its length is the poll's fixed length; its bytes do
not matter to PostgreSQL); the citizen, poll, option, participation id, voter key and envelope
lookup are pgbench variables or drawn per transaction. The residence's codes stay the captured
citizen's (they only feed the eligibility expressions).

The replayed rows are garbage to the counter (every envelope is the captured one, sealed for
another poll): they are checked (one participation per envelope) and deleted right after the run,
which happens while no counter runs.
"""

import contextlib
import glob
import json
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

from bench import data, infra
from bench.load import percentile


def run_pgbench(
    script: str, *, clients: int, duration: int, defines=(), protocol: str = "simple"
) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as tmp:
        path = Path(tmp) / "script.sql"
        path.write_text(script)
        cmd = [
            infra.pgbench_path(), "-h", infra.PG_HOST, "-p", str(infra.PG_PORT),
            "-U", infra.PG_USER, "-n", "-M", protocol, "-c", str(clients), "-j", "2",
            "-T", str(duration), "-f", str(path), "-l", "--log-prefix", f"{tmp}/log",
        ]  # fmt: skip
        for name, value in defines:
            cmd += ["-D", f"{name}={value}"]
        cmd.append(infra.DB_NAME)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)  # noqa: S603
        if out.returncode not in (0, 2):
            raise RuntimeError(f"pgbench failed: {out.stderr[-2000:]}")
        tps = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
        latencies = []
        for log in glob.glob(f"{tmp}/log*"):
            for line in Path(log).read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    latencies.append(int(parts[2]) / 1000)
        latencies.sort()
        return {
            "per_s": round(float(tps.group(1)), 1) if tps else None,
            "transactions": len(latencies),
            "failed": int(failed.group(1)) if failed else None,
            "p50_ms": round(percentile(latencies, 0.5), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "clients": clients,
            "protocol": protocol,
            "stderr_tail": out.stderr.strip().splitlines()[-3:] if out.returncode else [],
        }


FLOOR_SCRIPT = """\\set k random(1, 4000000000)
INSERT INTO bench_floor (k, v) VALUES (:k, 1) ON CONFLICT (k) DO NOTHING;
"""


def floor(clients: int, duration: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute("CREATE TABLE bench_floor (k bigint PRIMARY KEY, v integer NOT NULL)")
    result = run_pgbench(FLOOR_SCRIPT, clients=clients, duration=duration)
    result["script"] = FLOOR_SCRIPT
    return result


@contextlib.contextmanager
def all_queries():
    """Every statement any thread runs meanwhile (views may run on worker threads, each with its
    own connection, so a wrapper on this thread's connection would see nothing)."""
    from django.db.backends.utils import CursorWrapper

    seen: list[tuple[str, object, bool]] = []
    original = CursorWrapper._execute_with_wrappers

    def recording(self, sql, params, many, executor):
        seen.append((sql, params, self.db.in_atomic_block))
        return original(self, sql, params, many, executor)

    CursorWrapper._execute_with_wrappers = recording
    try:
        yield seen
    finally:
        CursorWrapper._execute_with_wrappers = original


def capture(ds: data.DataSet) -> tuple[list[tuple[str, object, bool]], dict]:
    """Send one ballot through the product in-process; return every SQL statement it ran."""
    from django.test import Client

    poll_id = data.B_POLL_BASE
    option_id = data.b_option_id(poll_id, 1)
    uid = ds.citizens  # votes only in the capture poll, which pgbench does not use
    # A serving process remembers each district's place in the tree (voting.eligibility) after
    # its first ballot from there: look it up now, so the capture sees a warm process's SQL.
    from accounts.models import User
    from voting.eligibility import Voter

    Voter.of(User.objects.get(pk=uid))
    client = Client()
    with all_queries() as statements:
        response = client.post(
            f"/api/v1/polls/{poll_id}/ballots/",
            data=json.dumps({"options": [option_id]}),
            content_type="application/json",
            HTTP_X_SESSION_TOKEN=data.citizen_token(uid),
            HTTP_X_FORWARDED_FOR="10.255.255.254",
        )
    if not statements:
        raise RuntimeError("no SQL captured from the ballot request")
    if response.status_code != 201:
        raise RuntimeError(f"capture ballot answered {response.status_code}: {response.content!r}")
    from voting.casting import voter_key

    user = User.objects.get(pk=uid)
    known = {
        "uid": uid,
        "poll": poll_id,
        "option": option_id,
        "token": data.citizen_token(uid),
        "voter_key": voter_key(user.phone, uid),
    }
    return statements, known


def describe(statements) -> list[str]:
    """Short names of the captured statements, in order, with the transaction's boundaries."""
    names, in_tx = [], False
    for text, _params, atomic in statements:
        if atomic and not in_tx:
            names.append("BEGIN")
        if not atomic and in_tx:
            names.append("COMMIT")
        in_tx = atomic
        words = " ".join(text.split())
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', words)
        verb = words.split(" ", 1)[0].upper()
        target = table.group(1) if table else "?"
        if verb == "SELECT" and '"voting_poll"' in words:
            target = "voting_poll"  # the verdict row: FROM voting_poll, its first FROM a subquery
        label = {
            "django_session": "session",
            "accounts_user": "user",
            "voting_poll": "verdict",
            "voting_participation": "participation",
            "voting_envelope": "envelope",
            "voting_idempotencyrecord": "idempotency record",
        }.get(target, target)
        names.append(f"{verb} {label}")
    if in_tx:
        names.append("COMMIT")
    return names


def to_pgbench(statements, known, ds: data.DataSet) -> str:
    """The captured statements as a pgbench script; each transaction a distinct citizen."""
    import psycopg

    raw = psycopg.connect(host=infra.PG_HOST, user=infra.PG_USER, dbname=infra.DB_NAME)
    uuid_vars: dict[uuid.UUID, str] = {}
    lines: list[str] = []
    in_tx = False
    for text, params, atomic in statements:
        if atomic and not in_tx:
            lines.append("BEGIN;")
        if not atomic and in_tx:
            lines.append("COMMIT;")
        in_tx = atomic
        params = list(params or [])
        pieces = re.split(r"(%s|%%)", text)
        out, index = [], 0
        for piece in pieces:
            if piece == "%%":
                out.append("%")
            elif piece == "%s":
                value = params[index]
                out.append(_render(value, known, uuid_vars, raw))
                index += 1
            else:
                out.append(piece)
        lines.append(" ".join("".join(out).split()) + ";")
    if in_tx:
        lines.append("COMMIT;")
    raw.close()
    nc = ds.citizens - 1  # the last citizen votes in the capture poll only
    header = [
        "\\set n :n + 1",
        f"\\set g (:n - 1) * {_CLIENTS} + :client_id",
        f"\\set uid 1 + :g % {nc}",
        f"\\set pid {data.B_POLL_BASE + 1} + :g / {nc}",
        f"\\set oid 900101 + 10 * (:pid - {data.B_POLL_BASE}) + random(0, "
        f"{data.B_OPTIONS_PER_POLL - 1})",
        *[f"\\set {name} random(1, 9223372036854775806)" for name in uuid_vars.values()],
    ]
    return "\n".join(header + lines) + "\n"


_CLIENTS = 16


def _render(value, known, uuid_vars, raw) -> str:
    if isinstance(value, bool) or value is None:
        return _literal(value, raw)
    if isinstance(value, (list, tuple)) and value:
        return "ARRAY[" + ", ".join(_render(v, known, uuid_vars, raw) for v in value) + "]"
    if isinstance(value, int):
        if value == known["uid"]:
            return ":uid"
        if value == known["poll"]:
            return ":pid"
        if value == known["option"]:
            return ":oid"
    if value == known["token"]:  # before the uuid test: a session key can look like hex
        return "('bc' || lpad((:uid)::text, 30, '0'))"
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value):
        value = uuid.UUID(value)  # the participation's id
    if isinstance(value, uuid.UUID):
        name = uuid_vars.setdefault(value, f"u{len(uuid_vars) + 1}")
        return f"(lpad(to_hex(:{name}::bigint), 32, '0'))::uuid"
    if isinstance(value, str):
        if value == str(known["uid"]):
            return "((:uid)::text)"
        if value == known["voter_key"]:
            return "encode(sha256(('bench-replay-voter:' || :uid)::bytea), 'hex')"
        if re.fullmatch(r"[0-9a-f]{64}", value):  # the envelope's lookup: unique per ballot
            return "(md5(random()::text) || md5(random()::text))"
    return _literal(value, raw)


def _literal(value, raw) -> str:
    from psycopg import sql as psql

    return psql.Literal(value).as_string(raw)


def product_sql(ds: data.DataSet, duration: int) -> dict:
    statements, known = capture(ds)
    script = to_pgbench(statements, known, ds)
    (infra.RESULTS / "product_sql.pgbench").write_text(script)
    result = run_pgbench(
        script, clients=_CLIENTS, duration=duration, defines=[("n", 0)], protocol=protocol()
    )
    result["statements_per_ballot"] = len(statements)
    result["statements"] = describe(statements)
    result["script_file"] = "bench/results/product_sql.pgbench"
    result["replayed_rows"] = _check_and_drop_replay(ds)
    return result


def protocol() -> str:
    """How the product talks to PostgreSQL, so the replay does the same: Django's psycopg backend
    binds parameters client-side by default (every statement parsed and planned anew: pgbench's
    simple protocol); with ``server_side_binding`` on, psycopg prepares a statement it has run
    five times on a connection (pgbench's prepared protocol)."""
    from django.db import connection

    options = connection.settings_dict.get("OPTIONS", {})
    return "prepared" if options.get("server_side_binding") else "simple"


def _check_and_drop_replay(ds: data.DataSet) -> dict:
    """Every replayed transaction wrote both halves (one participation, one envelope); then the
    replay's rows go, so no counter ever opens them (the capture poll's one real ballot stays)."""
    from django.db import connection

    polls = ds.polls["product_sql"][1:]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM voting_participation WHERE poll_id = ANY(%s)),"
            " (SELECT count(*) FROM voting_envelope WHERE poll_id = ANY(%s))",
            [polls, polls],
        )
        participations, envelopes = cursor.fetchone()
        cursor.execute("DELETE FROM voting_envelope WHERE poll_id = ANY(%s)", [polls])
        cursor.execute("DELETE FROM voting_participation WHERE poll_id = ANY(%s)", [polls])
    return {
        "participations": participations,
        "envelopes": envelopes,
        "equal": participations == envelopes,
        "deleted_after_the_run": True,
    }
