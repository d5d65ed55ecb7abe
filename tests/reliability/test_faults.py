"""Faults in the middle of a load run, against live servers: Redis stopped, PostgreSQL
connections killed, the HTTP server killed. Ballots stay exactly once through all of them: every
201 is one sealed envelope, then one ballot on the board once the counter has run (in this
process, on the servers' database, or as the counter service beside them)."""

import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.ballot_box import assert_box_consistent, assert_receipts_kept, cast_many
from tests.factories import OfficialFactory
from tests.reliability.conftest import (
    BallotRequest,
    bulk_citizens,
    count_and_check,
    count_to_the_end_and_check,
    participations,
    post_ballot,
    request,
    run_load,
    size,
)
from tests.reliability.servers import (
    SERVER_APPLICATION_NAME,
    CounterService,
    DaphneServer,
    GunicornServer,
    RedisServer,
    WebSocketClient,
    session_cookie,
)
from voting import receipts, sealing, tallies
from voting.models import Envelope, Participation

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
    """Ballots the counter has counted in a poll (its published total)."""
    return tallies.read(poll_id).overall.ballots


def sealed(poll_id: int) -> int:
    """Ballots cast in a poll and not counted yet."""
    return Envelope.objects.filter(poll_id=poll_id).count()


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
    """Redis carries only the live updates. While it is away ballots are still sealed (201) and
    the counter service still counts them; once it is back, the counter's next batch reaches the
    officials' dashboard, and in the end every ballot is counted exactly once."""
    k = settings.BALLOT_BATCH_MIN
    redis = RedisServer().start()
    env = {"REDIS_URL": redis.url, "CHANNEL_LAYER_PREFIX": "relfault", "LIVE_MIN_INTERVAL": "0.05"}
    http = GunicornServer("http", workers=3, **env)
    ws = DaphneServer("ws", **env)
    counter = CounterService("counter", **env)
    dashboard = None
    try:
        for server in (http, ws, counter):
            server.start()
        for server in (http, ws, counter):
            server.wait_healthy()
        poll = open_poll()
        cookie = session_cookie(OfficialFactory(role="official"))
        dashboard = WebSocketClient(ws, f"/ws/polls/{poll.pk}/", cookie=cookie)
        assert dashboard.accepted, dashboard.status_line
        first = dashboard.receive_json(timeout=10)
        assert (first["total"], first["withheld"]) == (None, True)  # nothing counted yet

        ballots = keyed_ballots(poll, LOAD)
        load = Background(http.port, ballots, concurrency=8)
        assert wait_until(lambda: participations(poll.pk) >= LOAD // 4, timeout=60)
        redis.stop()  # SIGTERM, in the middle of the run
        down_at, counted_at_down = participations(poll.pk), counted(poll.pk)
        reports = []
        assert wait_until(
            lambda: reports.append(health(http.port)) or reports[-1][0] == 503, timeout=15
        ), reports[-3:]
        assert reports[-1][1] == {"database": "ok", "channel_layer": "down"}
        status, body = health(ws.port)
        assert (status, body) == (503, {"database": "ok", "channel_layer": "down"})
        # Ballots keep being sealed, and counted, while Redis is away.
        assert wait_until(lambda: participations(poll.pk) >= down_at + LOAD // 4, timeout=60)
        assert wait_until(lambda: counted(poll.pk) > counted_at_down, timeout=60), counter.output()
        assert health(http.port)[0] == 503
        redis.start()  # the same port: the servers find it again by themselves
        answers = load.join()

        assert Counter(a.status for a in answers) == {201: LOAD}, [
            (a.status, a.body, a.error) for a in answers if a.status != 201
        ][:5]
        codes = [a.body["receipt"] for a in answers]
        # The counter catches up: while the poll is open it leaves between k and 2k - 1 sealed
        # (it counts once 2k are waiting, all but the newest k).
        assert wait_until(lambda: sealed(poll.pk) < 2 * k, timeout=60), counter.output()
        waiting = sealed(poll.pk)
        assert k <= waiting and counted(poll.pk) == LOAD - waiting
        assert_receipts_kept(codes, [poll.pk])
        assert_box_consistent([poll.pk])
        reports = []
        assert wait_until(
            lambda: reports.append(health(http.port)) or reports[-1][0] == 200, timeout=30
        ), reports[-3:]
        # (The WebSocket server's /healthz, with this dashboard open, is
        # test_a_websocket_server_with_a_dashboard_open_reports_redis_healthy: a product bug.)

        # Live updates resume: enough ballots for 2k to wait make a batch of k, whose total
        # reaches the dashboard (reconnecting once if the socket dropped meanwhile, as the page
        # does by itself).
        expected = LOAD - waiting + k
        codes += _cast_now(http.port, poll, ballots[0].option_id, 2 * k - waiting)
        message = _dashboard_total(dashboard, expected, timeout=20)
        if message is None:
            dashboard.close()
            dashboard = WebSocketClient(ws, f"/ws/polls/{poll.pk}/", cookie=cookie)
            assert dashboard.accepted, dashboard.status_line
            expected += k
            codes += _cast_now(http.port, poll, ballots[0].option_id, k)
            message = _dashboard_total(dashboard, expected, timeout=20)
        assert message is not None, f"no live update after Redis came back\n{ws.output()}"
        assert message["withheld"] is False

        # The service stopped (it finishes its batch), the poll is counted to the end: each
        # ballot once, the totals exactly what was cast.
        assert counter.process is not None
        counter.stop()
        assert counter.process.returncode == 0, counter.output()
        count_to_the_end_and_check(codes, [poll])
        assert counted(poll.pk) == len(codes)
    finally:
        if dashboard is not None:
            dashboard.close()
        http.close()
        ws.close()
        counter.close()
        redis.stop()


@pytest.mark.redis
def test_a_websocket_server_with_a_dashboard_open_reports_redis_healthy(
    transactional_db, open_poll
):
    """/healthz of a WebSocket server says the channel layer is up when it is — also while a
    dashboard is connected to it (its live relay then receives from Redis)."""
    redis = RedisServer().start()
    ws = DaphneServer("ws", REDIS_URL=redis.url, CHANNEL_LAYER_PREFIX="relhealth")
    dashboard = None
    try:
        ws.start()
        ws.wait_healthy()
        poll = open_poll()
        dashboard = WebSocketClient(
            ws, f"/ws/polls/{poll.pk}/", cookie=session_cookie(OfficialFactory(role="official"))
        )
        assert dashboard.accepted, dashboard.status_line
        assert dashboard.receive_json(timeout=10)["type"] == "tally"

        reports = [health(ws.port) for _ in range(5)]

        assert reports == [(200, {"database": "ok", "channel_layer": "ok"})] * 5, reports
    finally:
        if dashboard is not None:
            dashboard.close()
        ws.close()
        redis.stop()


def _cast_now(port: int, poll, option_id: int, n: int) -> list[str]:
    """``n`` new citizens vote through the server; their receipts."""
    answers = run_load(port, [BallotRequest(t, poll.pk, option_id) for t in bulk_citizens(n)])
    assert {a.status for a in answers} == {201}, [(a.status, a.body) for a in answers][:3]
    return [a.body["receipt"] for a in answers]


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
                wait_until(
                    lambda r=round_: participations(poll.pk) >= LOAD * (r + 1) // 6, timeout=60
                )
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
    first_receipts = [a.body["receipt"] for a in answers if a.status == 201]
    # No half-written ballot: every participation has its envelope, and the counter counts them.
    count_and_check(first_receipts, [poll.pk])

    # The service recovered without a restart: the refused retry with their key, and succeed
    # (a fresh ballot, or the replay of one that committed just before its connection died).
    retried = [b for b, a in zip(ballots, answers, strict=True) if a.status != 201]
    again = run_load(http_server.port, retried, concurrency=8)
    assert {a.status for a in again} <= {201}, Counter((a.status, a.code) for a in again)
    codes = first_receipts + [a.body["receipt"] for a in again]
    assert Participation.objects.filter(poll=poll).count() == LOAD
    count_and_check(codes, [poll.pk])
    # Counted to the end: every citizen's ballot on the board once, and nothing else.
    count_to_the_end_and_check(codes, [poll])
    assert counted(poll.pk) == LOAD


# --- The HTTP server killed ----------------------------------------------------------------------


def test_server_killed_mid_load_and_restarted_loses_nothing_and_counts_nothing_twice(
    http_server, open_poll
):
    poll = open_poll()
    ballots = keyed_ballots(poll, LOAD)
    load = Background(http_server.port, ballots, concurrency=16)
    assert wait_until(lambda: participations(poll.pk) >= LOAD // 3, timeout=60)
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
    # Nothing answered 201 was lost, nothing is counted twice.
    count_and_check(first_receipts, [poll.pk])

    # Clients that got no answer retry with their key: the original 201 or a fresh one, never a
    # second ballot.
    unanswered = [b for b, a in zip(ballots, answers, strict=True) if a.status is None]
    before = participations(poll.pk)
    again = run_load(http_server.port, unanswered, concurrency=8)
    assert {a.status for a in again} == {201}, Counter((a.status, a.code) for a in again)
    replayed = sum(a.headers.get("idempotent-replayed") == "true" for a in again)
    assert participations(poll.pk) == before + len(again) - replayed
    # And replaying the answered ones gives back their very receipts.
    for ballot, answer in list(zip(ballots, answers, strict=True))[:20]:
        if answer.status == 201:
            replay = post_ballot(http_server.port, ballot)
            assert (replay.status, replay.body) == (201, answer.body)
    codes = first_receipts + [a.body["receipt"] for a in again]
    assert Participation.objects.filter(poll=poll).count() == LOAD
    count_and_check(codes, [poll.pk])
    count_to_the_end_and_check(codes, [poll])
    assert counted(poll.pk) == LOAD


def test_the_invariant_notices_a_half_written_ballot(transactional_db, open_poll):
    """The checks themselves: an envelope without its participation, a participation without
    its envelope, and a receipt answered 201 that is neither sealed nor counted do not pass."""
    poll = open_poll()
    codes = cast_many(poll, 2)
    assert_box_consistent([poll.pk])
    assert_receipts_kept(codes, [poll.pk])

    code = receipts.new_code()
    stray = Envelope.objects.create(
        poll=poll,
        lookup=receipts.envelope_lookup(code),
        sealed=sealing.seal_envelope(
            payload={"p": poll.pk, "o": [poll.options.first().pk], "t": receipts.tracker(code)},
            max_choices=1,
        ),
    )
    with pytest.raises(AssertionError):
        assert_box_consistent([poll.pk])
    stray.delete()
    orphan = Participation.objects.create(poll=poll, voter=None, voter_key="orphan" * 8)
    with pytest.raises(AssertionError):
        assert_box_consistent([poll.pk])
    orphan.delete()
    assert_box_consistent([poll.pk])
    with pytest.raises(AssertionError):
        assert_receipts_kept([*codes, receipts.new_code()], [poll.pk])
