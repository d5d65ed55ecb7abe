"""The standalone verifier, run from outside as a citizen would, against a live server.

A real gunicorn serves the test database; thousands of citizens vote over HTTP; the counter
service (``manage.py count_ballots``) counts them in many batches and, once the poll has closed,
to the end. Then ``python3 -I verifier/verify_board.py --url ...`` — a bare interpreter with no
project code and no third-party package on its path — fetches the board page by page and must
pass it and find a voter's receipt. Then the database is tampered with, the way someone with
write access but without the counter's signing key could: a ballot changed inside a board entry,
a counter moved, an entry forged (its hash recomputed, the counters made to match, but not
re-signed). The verifier must fail each, naming the problem, and ``manage.py verify_tallies``
must exit 1 in each tampered state and 0 once restored.
"""

import io
import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.ballot_box import assert_box_consistent, assert_receipts_kept
from tests.factories import PollFactory
from tests.reliability.conftest import BallotRequest, bulk_citizens, request, run_load, size
from tests.reliability.servers import BASE_DIR, GunicornServer, server_environment
from verifier.verify_board import entry_hash
from voting import sealing, tallies
from voting.board import PAGE_SIZE
from voting.models import BoardEntry, CountState, Envelope, Poll

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BALLOTS = size(3_000, 10_000)
BATCH_MAX = 25  # small batches: the board runs to more than one page
SCRIPT = BASE_DIR / "verifier" / "verify_board.py"
# The system's own interpreter, as a citizen would have it: not this virtualenv's.
PYTHON3 = shutil.which("python3", path=os.defpath) or sys.executable


def manage(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``manage.py <args>`` as a process of its own, on the test database."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=server_environment(BALLOT_BATCH_MAX=str(BATCH_MAX)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def verify_tallies(poll_id: int) -> tuple[int, str]:
    """``manage.py verify_tallies <poll>``: its exit status and what it printed."""
    out = io.StringIO()
    try:
        call_command("verify_tallies", str(poll_id), stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


class Verifier:
    """The standalone verifier against the live server, with the city's published key."""

    def __init__(self, server: GunicornServer, poll_id: int) -> None:
        self.server = server
        self.poll_id = poll_id
        self.key = sealing.verify_key_hex()

    def run(self, *receipts: str) -> subprocess.CompletedProcess:
        command = [PYTHON3, "-I", str(SCRIPT), "--url", self.server.base_url]
        command += ["--poll", str(self.poll_id), "--key", self.key]
        for code in receipts:
            command += ["--receipt", code]
        return subprocess.run(
            command,
            cwd="/",  # nothing of the project beside it
            env={"PATH": os.defpath, "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def sql(statement: str, params: list) -> int:
    """One statement on the database, as someone with write access would run it."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def add_to_counter(poll_id: int, option_id: int, delta: int) -> None:
    assert (
        sql(
            "UPDATE voting_tallycell SET count = count + %s WHERE poll_id = %s "
            "AND dimension = '' AND value = '' AND option_id = %s",
            [delta, poll_id, option_id],
        )
        == 1
    )


def set_entry(poll_id: int, seq: int, *, ballots: list, digest: str) -> None:
    assert (
        sql(
            "UPDATE voting_boardentry SET ballots = %s::jsonb, hash = %s "
            "WHERE poll_id = %s AND seq = %s",
            [json.dumps(ballots), digest, poll_id, seq],
        )
        == 1
    )


def assert_caught(verifier: Verifier, poll_id: int, *, check: str, problem: str) -> str:
    """The verifier exits 1 with ``check`` failed and ``problem`` named, and verify_tallies
    exits 1 naming a mismatch; the verifier's output."""
    result = verifier.run()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED  {check}" in result.stdout, result.stdout
    assert problem in result.stdout, result.stdout
    assert result.stdout.rstrip().endswith("RESULT: FAILED")
    status, printed = verify_tallies(poll_id)
    assert (status, f"poll {poll_id}: MISMATCH" in printed) == (1, True), printed
    return result.stdout


def assert_passes(verifier: Verifier, poll_id: int, receipt: str) -> str:
    result = verifier.run(receipt)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("RESULT: all checks passed"), result.stdout
    status, printed = verify_tallies(poll_id)
    assert (status, printed.strip()) == (
        0,
        f"poll {poll_id}: ok ({BALLOTS} ballots counted, 0 sealed, {BALLOTS} participations)",
    )
    return result.stdout


def test_the_verifier_run_from_outside_passes_the_live_board_and_fails_every_tampering(
    transactional_db,
):
    server = GunicornServer("verifier", workers=3, BALLOT_BATCH_MAX=str(BATCH_MAX))
    try:
        server.start()  # it boots while the citizens are made
        poll = PollFactory(options=["A", "B", "C"])  # results (and board) once it has closed
        options = list(poll.options.order_by("position").values_list("pk", flat=True))
        ballots = [
            BallotRequest(token, poll.pk, options[i % 3 if i % 5 else 0])
            for i, token in enumerate(bulk_citizens(BALLOTS))
        ]
        server.wait_healthy()
        answers = run_load(server.port, ballots, concurrency=12, deadline=300)
        assert Counter(a.status for a in answers) == {201: BALLOTS}, [
            (a.status, a.body, a.error) for a in answers if a.status != 201
        ][:5]
        codes = [a.body["receipt"] for a in answers]
        verifier = Verifier(server, poll.pk)

        # While the poll is open its board is not shown: the verifier cannot run (exit 2).
        counted = manage("count_ballots", "--once")
        assert counted.returncode == 0, counted.stdout + counted.stderr
        hidden = verifier.run()
        assert hidden.returncode == 2, hidden.stdout + hidden.stderr
        assert "HTTP 403" in hidden.stderr

        Poll.objects.filter(pk=poll.pk).update(
            closes_at=timezone.now() - timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS + 1)
        )
        counted = manage("count_ballots", "--once")
        assert counted.returncode == 0, counted.stdout + counted.stderr
        assert CountState.objects.get(pk=poll.pk).final
        assert not Envelope.objects.filter(poll=poll).exists()
        assert_box_consistent([poll.pk])
        assert_receipts_kept(codes, [poll.pk])
        entries = list(BoardEntry.objects.filter(poll=poll).order_by("seq"))
        assert len(entries) > PAGE_SIZE  # the verifier has to follow the pages

        # Untouched: every check passes, and a voter finds their receipt in its batch.
        code = random.choice(codes)
        output = assert_passes(verifier, poll.pk, code)
        seq = int(output.split(f"{code}: found in batch ")[1].split()[0])
        receipt = request(server.port, "GET", f"/api/v1/receipts/{code}/")
        assert (receipt.status, receipt.body["status"], receipt.body["batch"]) == (
            200,
            "counted",
            seq,
        )
        chosen = Counter(b.option_id for b in ballots)
        for option_id, n in chosen.items():
            assert f"option {option_id}: {n}\n" in output, output

        # 1. One ballot's choice changed inside a board entry (its hash left as it was).
        first = entries[0]
        changed = [list(ballot) for ballot in first.ballots]
        was = changed[0][0]
        changed[0] = [next(o for o in options if o != was)]
        set_entry(poll.pk, first.seq, ballots=changed, digest=first.hash)
        assert_caught(
            verifier,
            poll.pk,
            check="batch hashes",
            problem=f"batch seq {first.seq}: its contents hash to",
        )
        set_entry(poll.pk, first.seq, ballots=first.ballots, digest=first.hash)
        assert_passes(verifier, poll.pk, code)

        # 2. One option's published counter moved by one vote.
        option = options[1]
        add_to_counter(poll.pk, option, +1)
        assert_caught(
            verifier,
            poll.pk,
            check="totals per option",
            problem=(
                f"option {option}: the totals claim {chosen[option] + 1}, "
                f"the board's ballots count {chosen[option]}"
            ),
        )
        add_to_counter(poll.pk, option, -1)
        assert_passes(verifier, poll.pk, code)

        # 3. A forged last entry: a vote moved from one option to another, its hash recomputed
        # and the counters and the counter's state made to match — all but the signature.
        last = entries[-1]
        forged = [list(ballot) for ballot in last.ballots]
        index = next(i for i, ballot in enumerate(forged) if ballot[0] != options[2])
        moved_from = forged[index][0]
        forged[index] = [options[2]]
        digest = entry_hash(poll.pk, last.seq, last.prev, last.trackers, forged, last.channels)
        set_entry(poll.pk, last.seq, ballots=forged, digest=digest)
        add_to_counter(poll.pk, moved_from, -1)
        add_to_counter(poll.pk, options[2], +1)
        CountState.objects.filter(pk=poll.pk).update(head=digest)
        output = assert_caught(
            verifier,
            poll.pk,
            check="head signature",
            problem="the head's signature is not valid for the given key",
        )
        # Everything else adds up: the signature alone gives the forgery away.
        for check in ("batch hashes", "each batch chained", "totals per option"):
            assert f"ok      {check}" in output, output
        set_entry(poll.pk, last.seq, ballots=last.ballots, digest=last.hash)
        add_to_counter(poll.pk, moved_from, +1)
        add_to_counter(poll.pk, options[2], -1)
        CountState.objects.filter(pk=poll.pk).update(head=last.hash)
        assert_passes(verifier, poll.pk, code)
    finally:
        server.close()
    assert tallies.read(poll.pk).overall.votes == dict(chosen)
    assert_box_consistent([poll.pk])
