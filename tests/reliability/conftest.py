"""The reliability suite: live servers, many citizens, and the invariant checked after each test.

Sizes are small enough for CI; ``STRESS=1`` (``make stress``) runs the large versions.
"""

import http.client
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import User, Verification
from accounts.sessions import stored_key
from tests.ballot_box import (
    after_close,
    assert_box_consistent,
    assert_receipts_kept,
    close_and_count,
    count_now,
)
from tests.district_codes import SAJIK
from tests.reliability.servers import GunicornServer
from voting import receipts
from voting.models import BoardTracker, Envelope, Participation, Poll

STRESS = os.environ.get("STRESS", "") not in ("", "0", "false")


def size(ci: int, stress: int) -> int:
    return stress if STRESS else ci


# --- The invariant, after a load ----------------------------------------------------------------
# The servers only seal envelopes: nothing is counted in a WSGI worker. After a load the test runs
# the counter's own code in this process, on the same database (tests/ballot_box.py), then checks
# the ballot box's invariant there.


def participations(poll_id: int) -> int:
    """Ballots cast in a poll so far: each 201 committed one participation with its envelope."""
    return Participation.objects.filter(poll_id=poll_id).count()


def count_and_check(codes: Iterable[str], poll_ids: Iterable[int], *, now=None) -> int:
    """One round of the counter (``now``: the counter's clock), then: every receipt answered 201
    is sealed or counted, once, in these polls, and each poll's box is consistent (the board
    verifies, its sums equal the counters, participations = counted + sealed). The number of
    ballots the round counted."""
    poll_ids = list(poll_ids)
    counted = count_now(now=now)
    assert_receipts_kept(codes, poll_ids)
    assert_box_consistent(poll_ids)
    return counted


def count_to_the_end_and_check(codes: Iterable[str], polls: Iterable[Poll]) -> None:
    """Count ``polls`` to the end — an open poll is closed first (close_and_count); a closed one is
    counted as the counter will once its grace has passed — then: nothing is left sealed, every
    receipt in ``codes`` is on its poll's board exactly once, and each box is consistent."""
    codes, polls = list(codes), list(polls)
    for poll in polls:
        poll.refresh_from_db()
        if poll.closes_at > timezone.now():
            close_and_count(poll)
        else:
            count_now(now=after_close(poll))
    poll_ids = [poll.pk for poll in polls]
    assert not Envelope.objects.filter(poll_id__in=poll_ids).exists(), "ballots left sealed"
    trackers = {receipts.tracker(code) for code in codes}
    assert len(trackers) == len(codes), "a receipt was handed out twice"
    on_board = BoardTracker.objects.filter(tracker__in=trackers, entry__poll_id__in=poll_ids)
    assert on_board.count() == len(trackers), "a receipt answered 201 is not on the board"
    assert_receipts_kept(codes, poll_ids)
    assert_box_consistent(poll_ids)


# --- Citizens in bulk ----------------------------------------------------------------------------

_PASSWORD = "!reliability-citizen"  # unusable (citizens log in by phone code)
_phone_counter = iter(range(50_000_000, 99_999_999))


def bulk_citizens(count: int) -> list[str]:
    """``count`` phone-verified citizens of 사직동 with app session tokens, in a few queries."""
    now = timezone.now()
    users = User.objects.bulk_create(
        [
            User(
                phone=f"+8210{next(_phone_counter):08d}",
                phone_verified=True,
                verification=Verification.PHONE,
                password=_PASSWORD,
                district_id=SAJIK,
                birth_year=1950 + i % 55,
                gender=("female", "male", "other", "undisclosed")[i % 4],
                date_joined=now,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    auth_hash = User(password=_PASSWORD).get_session_auth_hash()
    backend = "allauth.account.auth_backends.AuthenticationBackend"
    encode = SessionStore().encode
    # The table keeps each token's digest (accounts/sessions.py); the clients send the tokens.
    tokens = [uuid.uuid4().hex for _ in users]
    sessions = [
        Session(
            session_key=stored_key(token),
            session_data=encode(
                {SESSION_KEY: str(u.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: auth_hash}
            ),
            expire_date=now + timedelta(days=1),
        )
        for u, token in zip(users, tokens, strict=True)
    ]
    Session.objects.bulk_create(sessions, batch_size=2000)
    return tokens


# --- HTTP load from real threads -----------------------------------------------------------------


@dataclass
class Answer:
    status: int | None  # None: no answer (connection refused, reset, timed out)
    body: dict | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sent_at: float = 0.0
    answered_at: float = 0.0
    error: str = ""

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


@dataclass
class BallotRequest:
    token: str
    poll_id: int
    option_id: int
    key: str | None = None


def post_ballot(port: int, ballot: BallotRequest, timeout: float = 30.0) -> Answer:
    headers = {"Content-Type": "application/json", "X-Session-Token": ballot.token}
    if ballot.key:
        headers["Idempotency-Key"] = ballot.key
    return request(
        port,
        "POST",
        f"/api/v1/polls/{ballot.poll_id}/ballots/",
        body=json.dumps({"options": [ballot.option_id]}).encode(),
        headers=headers,
        timeout=timeout,
    )


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 30.0,
) -> Answer:
    sent = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        try:
            parsed: dict | str = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")[:500]
        return Answer(
            status=response.status,
            body=parsed,
            headers={k.lower(): v for k, v in response.getheaders()},
            sent_at=sent,
            answered_at=time.monotonic(),
        )
    except (OSError, http.client.HTTPException) as exc:
        return Answer(status=None, sent_at=sent, answered_at=time.monotonic(), error=repr(exc))
    finally:
        conn.close()


def run_load(
    port: int,
    ballots: list[BallotRequest],
    *,
    concurrency: int = 32,
    deadline: float = 120.0,
    retry_unanswered: bool = False,
    started: threading.Event | None = None,
) -> list[Answer]:
    """Post every ballot from ``concurrency`` threads released together; answers in order.

    Bounded: each request times out, and nothing is sent after ``deadline`` seconds (what was
    not sent is left ``None``: the caller asserts it is not)."""
    answers: list[Answer | None] = [None] * len(ballots)
    cursor = iter(range(len(ballots)))
    lock = threading.Lock()
    barrier = threading.Barrier(min(concurrency, len(ballots)))
    stop_at = time.monotonic() + deadline

    def worker() -> None:
        barrier.wait(timeout=30)
        if started is not None:
            started.set()
        while time.monotonic() < stop_at:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            answers[index] = post_ballot(port, ballots[index])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(barrier.parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=deadline + 60)
    assert all(answer is not None for answer in answers), "the load did not finish in time"
    return answers  # type: ignore[return-value]


# --- A live HTTP server --------------------------------------------------------------------------


@pytest.fixture
def http_server(transactional_db) -> Iterator[GunicornServer]:
    """gunicorn, three sync workers, on the test database: production's HTTP server."""
    server = GunicornServer("http", workers=3)
    try:
        server.start()
        server.wait_healthy()
        yield server
    finally:
        server.close()


@pytest.fixture
def open_poll():
    from tests.factories import PollFactory

    def build(options=("A", "B", "C")) -> Poll:
        return PollFactory(options=list(options))

    return build
