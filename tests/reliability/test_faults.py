"""Faults in the middle of a load run, against live servers: Redis stopped, PostgreSQL
connections killed, the HTTP server killed. Ballots stay exactly once through all of them."""

import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest
from django.db import connection

from tests.reliability.conftest import (
    BallotRequest,
    assert_invariant,
    assert_receipts_counted,
    bulk_citizens,
    post_ballot,
    request,
    run_load,
    size,
)
from tests.reliability.servers import (
    SERVER_APPLICATION_NAME,
    DaphneServer,
    GunicornServer,
    RedisServer,
    WebSocketClient,
    official_in_group,
    session_cookie,
)
from voting.models import Ballot, Participation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LOAD = size(300, 3_000)


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def counted(poll_id: int) -> int:
    return Ballot.objects.filter(poll_id=poll_id).count()


def keyed_ballots(poll, count: int) -> list[BallotRequest]:
    options = list(poll.options.values_list("pk", flat=True))
    return [
        BallotRequest(token, poll.pk, options[i % len(options)], key=f"rel-{uuid.uuid4().hex}")
        for i, token in enumerate(bulk_citizens(count))
    ]


class Background:
    """A load run on a thread of its own; ``join`` gives its answers."""

    def __init__(self, port: int, ballots: list[BallotRequest], concurrency: int = 16) -> None:
        self.answers: list = []
        self.started = threading.Event()
        self.thread = threading.Thread(
            target=lambda: self.answers.extend(
                run_load(port, ballots, concurrency=concurrency, started=self.started)
            ),
            daemon=True,
        )
        self.thread.start()
        assert self.started.wait(timeout=30)

    def join(self, timeout: float = 300) -> list:
        self.thread.join(timeout=timeout)
        assert not self.thread.is_alive(), "the load run did not finish in time"
        return self.answers


def health(port: int) -> tuple[int | None, dict | str | None]:
    answer = request(port, "GET", "/healthz", timeout=10)
    return answer.status, answer.body


# --- Redis stopped -------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_stopped_mid_load_ballots_still_count_and_live_updates_resume(
    transactional_db, open_poll
):
    redis = RedisServer().start()
    env = {"REDIS_URL": redis.url, "CHANNEL_LAYER_PREFIX": "relfault", "LIVE_MIN_INTERVAL": "0.05"}
    http = GunicornServer("http", workers=3, **env)
    ws = DaphneServer("ws", **env)
    dashboard = None
    try:
        for server in (http, ws):
            server.start()
        for server in (http, ws):
            server.wait_healthy()
        poll = open_poll()
        cookie = session_cookie(official_in_group())
        dashboard = WebSocketClient(ws, f"/ws/polls/{poll.pk}/", cookie=cookie)
        assert dashboard.accepted, dashboard.status_line
        assert dashboard.receive_json(timeout=10)["total"] == 0

        ballots = keyed_ballots(poll, LOAD)
        load = Background(http.port, ballots, concurrency=8)
        assert wait_until(lambda: counted(poll.pk) >= LOAD // 4, timeout=60)
        redis.stop()  # SIGTERM, in the middle of the run
        down_at = counted(poll.pk)
        reports = []
        assert wait_until(
            lambda: reports.append(health(http.port)) or reports[-1][0] == 503, timeout=15
        ), reports[-3:]
        assert reports[-1][1] == {"database": "ok", "channel_layer": "down"}
        status, body = health(ws.port)
        assert (status, body) == (503, {"database": "ok", "channel_layer": "down"})
        # Ballots keep being accepted while Redis is away.
        assert wait_until(lambda: counted(poll.pk) >= down_at + LOAD // 4, timeout=60)
        assert health(http.port)[0] == 503
        redis.start()  # the same port: the servers find it again by themselves
        answers = load.join()

        assert Counter(a.status for a in answers) == {201: LOAD}, [
            (a.status, a.body, a.error) for a in answers if a.status != 201
        ][:5]
        assert_receipts_counted([a.body["receipt"] for a in answers], [poll.pk])
        assert wait_until(lambda: health(http.port)[0] == 200, timeout=30)
        assert wait_until(lambda: health(ws.port)[0] == 200, timeout=30)

        # Live updates resume: a ballot now reaches the dashboard (reconnecting once if the
        # socket dropped meanwhile, as the page does by itself).
        (late,) = bulk_citizens(1)
        expected = LOAD + 1
        first = post_ballot(http.port, BallotRequest(late, poll.pk, ballots[0].option_id))
        assert first.status == 201, first
        message = _dashboard_total(dashboard, expected, timeout=20)
        if message is None:
            dashboard.close()
            dashboard = WebSocketClient(ws, f"/ws/polls/{poll.pk}/", cookie=cookie)
            assert dashboard.accepted, dashboard.status_line
            (later,) = bulk_citizens(1)
            expected += 1
            second = post_ballot(http.port, BallotRequest(later, poll.pk, ballots[0].option_id))
            assert second.status == 201, second
            message = _dashboard_total(dashboard, expected, timeout=20)
        assert message is not None, f"no live update after Redis came back\n{ws.output()}"
        assert_invariant([poll.pk])
    finally:
        if dashboard is not None:
            dashboard.close()
        http.close()
        ws.close()
        redis.stop()


def _dashboard_total(client: WebSocketClient, expected: int, timeout: float) -> dict | None:
    """The first tally message with ``expected`` ballots, or None (timeout or dropped socket)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = client.receive_json(timeout=left)
        except TimeoutError:
            return None
        except (ConnectionError, OSError):
            return None
        if message.get("type") == "tally" and message.get("total") == expected:
            return message
    return None


# --- PostgreSQL connections killed ---------------------------------------------------------------


def _killer_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    return psycopg.connect(**params, autocommit=True)


def test_postgres_connections_killed_mid_load_answers_are_clean_and_nothing_is_half_written(
    http_server, open_poll
):
    poll = open_poll()
    ballots = keyed_ballots(poll, LOAD)
    killed = 0
    with _killer_connection() as killer:
        load = Background(http_server.port, ballots, concurrency=16)
        for round_ in range(size(4, 12)):
            assert (
                wait_until(lambda r=round_: counted(poll.pk) >= LOAD * (r + 1) // 6, timeout=60)
                or not load.thread.is_alive()
            )
            killed += len(
                killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND application_name = %s",
                    [SERVER_APPLICATION_NAME],
                ).fetchall()
            )
        answers = load.join()
    assert killed > 0

    outcomes = Counter(a.status for a in answers)
    assert set(outcomes) <= {201, 409, 503}, [
        (a.status, a.body, a.error) for a in answers if a.status not in (201, 409, 503)
    ][:5]
    for answer in answers:
        if answer.status == 503:
            assert answer.headers.get("retry-after"), answer
            assert answer.code == "service_unavailable", answer.body
        if answer.status == 409:
            assert answer.code == "already_voted", answer.body
    assert_receipts_counted([a.body["receipt"] for a in answers if a.status == 201], [poll.pk])
    assert_invariant([poll.pk])  # no half-written ballot

    # The service recovered without a restart: the refused retry with their key, and succeed
    # (a fresh ballot, or the replay of one that committed just before its connection died).
    retried = [b for b, a in zip(ballots, answers, strict=True) if a.status != 201]
    again = run_load(http_server.port, retried, concurrency=8)
    assert {a.status for a in again} <= {201}, Counter((a.status, a.code) for a in again)
    assert_receipts_counted(
        [a.body["receipt"] for a in answers + again if a.status == 201], [poll.pk]
    )
    assert Participation.objects.filter(poll=poll).count() == LOAD
    assert_invariant([poll.pk])


# --- The HTTP server killed ----------------------------------------------------------------------


def test_server_killed_mid_load_and_restarted_loses_nothing_and_counts_nothing_twice(
    http_server, open_poll
):
    poll = open_poll()
    ballots = keyed_ballots(poll, LOAD)
    load = Background(http_server.port, ballots, concurrency=16)
    assert wait_until(lambda: counted(poll.pk) >= LOAD // 3, timeout=60)
    http_server.kill()  # SIGKILL to the master and every worker, mid-request
    time.sleep(0.5)  # clients meanwhile find nobody listening
    http_server.restart()  # the same port
    answers = load.join()

    outcomes = Counter(a.status for a in answers)
    assert set(outcomes) <= {201, None}, [
        (a.status, a.body) for a in answers if a.status not in (201, None)
    ][:5]
    assert outcomes[None] > 0, "the kill hit no request"
    first_receipts = [a.body["receipt"] for a in answers if a.status == 201]
    assert_receipts_counted(first_receipts, [poll.pk])  # nothing answered 201 was lost
    assert_invariant([poll.pk])  # nothing counted twice

    # Clients that got no answer retry with their key: the original 201 or a fresh one, never a
    # second ballot.
    unanswered = [b for b, a in zip(ballots, answers, strict=True) if a.status is None]
    before = counted(poll.pk)
    again = run_load(http_server.port, unanswered, concurrency=8)
    assert {a.status for a in again} == {201}, Counter((a.status, a.code) for a in again)
    replayed = sum(a.headers.get("idempotent-replayed") == "true" for a in again)
    assert counted(poll.pk) == before + len(again) - replayed
    # And replaying the answered ones gives back their very receipts.
    for ballot, answer in list(zip(ballots, answers, strict=True))[:20]:
        if answer.status == 201:
            replay = post_ballot(http_server.port, ballot)
            assert (replay.status, replay.body) == (201, answer.body)
    assert_receipts_counted(first_receipts + [a.body["receipt"] for a in again], [poll.pk])
    assert Participation.objects.filter(poll=poll).count() == LOAD
    assert_invariant([poll.pk])


def test_the_invariant_helper_notices_a_half_written_ballot(transactional_db, open_poll):
    """The check itself: a ballot without its participation does not pass."""
    poll = open_poll()
    Ballot.objects.create(poll=poll, gu_code="", dong_code="", receipt_hash="x" * 64)
    with pytest.raises(AssertionError):
        assert_invariant([poll.pk])
