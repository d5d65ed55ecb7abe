"""Faults of the counter service (``manage.py count_ballots``), as real processes on the test
database: SIGKILLed in the middle of a batch, several of them racing on many polls, their
PostgreSQL connections cut again and again, Redis gone.

After each fault the ballot box's invariant holds (tests/ballot_box.py): the board verifies, its
sums equal the counters, participations equal counted ballots plus sealed envelopes, and every
receipt answered is sealed or counted, once. Finally every poll is closed and counted to the end,
and each receipt is then on the board exactly once, with the totals exactly what was cast.

How a counter is caught in the middle of a batch, deterministically: the test holds, on a
connection of its own, a row lock the batch transaction needs part-way through (the poll's
oldest envelopes: the counter waits as it takes them; the poll's overall counters: it has taken
the envelopes and written the board entry and trackers, not the counters; a breakdown counter
not yet committed: it has counted the last batch and is writing the final breakdown), and waits
until pg_stat_activity shows the counter's backend waiting on that lock, in that statement.
"""

import asyncio
import contextlib
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.ballot_box import (
    assert_box_consistent,
    assert_receipts_kept,
    cast_many,
    close_and_count,
    count_now,
)
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory
from tests.reliability.conftest import size
from tests.reliability.servers import (
    SERVER_APPLICATION_NAME,
    CounterService,
    RedisServer,
    database_url_for_servers,
)
from voting import casting, receipts, tallies
from voting.models import (
    BoardEntry,
    BoardTracker,
    CountState,
    Envelope,
    Participation,
    Poll,
    TallyCell,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

K = 5  # BALLOT_BATCH_MIN, the same for the test process and every counter it starts
GRACE = 2.0  # BALLOT_CLOSE_GRACE_SECONDS, likewise
TIMEOUT = 90.0  # the longest any wait below may take before the test fails (never a pass)


@pytest.fixture(autouse=True)
def _small_batches(settings):
    """Batches of at least K; what the test process checks is what the counters were told."""
    settings.BALLOT_BATCH_MIN = K
    settings.BALLOT_BATCH_MAX = 3 * K
    settings.BALLOT_CLOSE_GRACE_SECONDS = GRACE


# --- The counter as a process of its own ---------------------------------------------------------


class CounterProcess(CounterService):
    """The counter service (tests/reliability/servers.py), or ``count_ballots --once``, on the
    test database with the test's batch settings, its PostgreSQL connections named
    ``application_name`` so that the test can find (and kill) exactly them."""

    def __init__(self, name: str, *, once: bool = False, **env: str) -> None:
        self.once = once
        self.application_name = f"mv-faults-counter-{name}-{uuid.uuid4().hex[:8]}"
        url = database_url_for_servers().replace(
            f"application_name={SERVER_APPLICATION_NAME}",
            f"application_name={self.application_name}",
        )
        super().__init__(
            name,
            DATABASE_URL=url,
            BALLOT_BATCH_MIN=str(settings.BALLOT_BATCH_MIN),
            BALLOT_BATCH_MAX=str(settings.BALLOT_BATCH_MAX),
            BALLOT_CLOSE_GRACE_SECONDS=str(settings.BALLOT_CLOSE_GRACE_SECONDS),
            **env,
        )

    def command(self) -> list[str]:
        return [*super().command(), *(["--once"] if self.once else [])]

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"counter {self.name} did not finish in {timeout}s:\n{self.output()}")

    def stop(self) -> int | None:
        """SIGTERM, as the service manager stops it (SIGKILL if it does not exit); its status."""
        super().stop()
        return self.process.returncode


@pytest.fixture
def counters() -> Iterator[Callable[..., CounterProcess]]:
    """Start counters; every one is stopped and cleaned up in the teardown."""
    started: list[CounterProcess] = []

    def start(name: str, **kwargs) -> CounterProcess:
        started.append(CounterProcess(name, **kwargs))
        return started[-1].start()

    yield start
    for counter in started:
        counter.close()


def run_to_completion(counter: CounterProcess) -> None:
    assert counter.wait() == 0, counter.output()


# --- PostgreSQL, from beside the application -----------------------------------------------------


def pg(*, autocommit: bool = True) -> psycopg.Connection:
    """A connection of the test's own to the test database (not Django's)."""
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    params["application_name"] = "mv-faults-test"
    return psycopg.connect(**params, autocommit=autocommit)


def backends(admin: psycopg.Connection, counter: CounterProcess) -> list[tuple]:
    """(pid, state, wait_event_type, query) of the counter's connections."""
    return admin.execute(
        "SELECT pid, state, wait_event_type, query FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = %s",
        [counter.application_name],
    ).fetchall()


def blocked_on(admin: psycopg.Connection, counter: CounterProcess, statement: str) -> list[int]:
    """The counter's backends waiting on a lock while running ``statement`` (its start)."""
    return [
        pid
        for pid, _state, wait, query in backends(admin, counter)
        if wait == "Lock" and query.lstrip().startswith(statement)
    ]


def terminate(admin: psycopg.Connection, counter: CounterProcess) -> list[tuple[int, str]]:
    """pg_terminate_backend on every connection of the counter; (pid, state) of those killed."""
    return [
        (pid, state)
        for pid, state, killed in admin.execute(
            "SELECT pid, state, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [counter.application_name],
        ).fetchall()
        if killed
    ]


def wait_until(condition: Callable[[], object], what: str, *watched: CounterProcess):
    """Poll ``condition`` until it is true (returned) or TIMEOUT passes (the test fails)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    outputs = "\n".join(f"--- counter {c.name}:\n{c.output()}" for c in watched)
    pytest.fail(f"timed out waiting for {what}\n{outputs}")


# Where a batch transaction (voting/counting.py `count_poll`) can be held, and the lock that holds
# it there: (the lock, taken on the test's own connection; the statement the counter then waits in).
TAKING_ENVELOPES = "taking its envelopes (its poll's count state locked, nothing else written)"
AFTER_BOARD_ENTRY = (
    "with its envelopes taken and its board entry and trackers written, before the counters"
)
FINALIZING = "finalizing (the last batch counted, the breakdown being written)"
HOLDS = {
    # The envelopes sealed now (the oldest, which a batch takes first): KEY SHARE conflicts
    # with deleting them.
    TAKING_ENVELOPES: (
        "SELECT id FROM voting_envelope WHERE poll_id = ANY(%s) FOR KEY SHARE",
        'DELETE FROM "voting_envelope"',
    ),
    # The polls' overall counters (they exist after a poll's first batch): the counter's upsert
    # waits for them.
    AFTER_BOARD_ENTRY: (
        "SELECT id FROM voting_tallycell WHERE poll_id = ANY(%s) AND dimension = '' FOR UPDATE",
        'INSERT INTO "voting_tallycell"',
    ),
    # A breakdown counter the final write will make (the women's ballots), inserted and not
    # committed: the counter's insert of the same key waits to learn whether it conflicts.
    FINALIZING: (
        "INSERT INTO voting_tallycell (poll_id, dimension, value, option_id, count) "
        "SELECT p, 'gender', 'female', 0, 0 FROM unnest(%s::bigint[]) AS p RETURNING id",
        'INSERT INTO "voting_tallycell"',
    ),
}


@contextlib.contextmanager
def holding(point: str, poll_ids: list[int]) -> Iterator[str]:
    """Hold the lock that stops a batch of ``poll_ids`` at ``point``, on a connection of the
    test's own; released (rolled back) on exit. Yields the statement a counter then waits in."""
    lock_sql, statement = HOLDS[point]
    holder = pg(autocommit=False)
    try:
        assert holder.execute(lock_sql, [poll_ids]).fetchall(), "nothing to hold"
        yield statement
    finally:
        holder.rollback()
        holder.close()


# --- Ballots and the box -------------------------------------------------------------------------

GENDERS = ("female", "male", "other", "undisclosed")


def cast(poll: Poll, n: int, *, offset: int = 0) -> tuple[list[str], Counter]:
    """``n`` citizens of 사직동 (of varied birth years and genders) vote in ``poll``; their
    receipts, and how many chose each option."""
    options = list(poll.options.order_by("position", "id").values_list("pk", flat=True))
    codes: list[str] = []
    chosen: Counter = Counter()
    groups = 4
    for group in range(groups):
        count = n // groups + (1 if group < n % groups else 0)
        if not count:
            continue

        def choose(i: int, group: int = group) -> list[int]:
            return [options[(offset + group + i * 7) % len(options)]]

        chosen.update(choose(i)[0] for i in range(count))
        codes += cast_many(
            poll,
            count,
            choose,
            district_id=SAJIK,
            birth_year=1950 + 13 * group,
            gender=GENDERS[group],
        )
    return codes, chosen


def close(poll_ids: list[int]) -> None:
    """Close the polls now, the grace for ballots still committing already past."""
    Poll.objects.filter(pk__in=poll_ids).update(
        closes_at=timezone.now() - timedelta(seconds=GRACE + 1)
    )


def box(poll_id: int) -> dict:
    """Everything a batch writes, for one poll: to compare before and after a fault."""
    return {
        "entries": list(
            BoardEntry.objects.filter(poll_id=poll_id).order_by("seq").values_list("seq", "hash")
        ),
        "trackers": BoardTracker.objects.filter(entry__poll_id=poll_id).count(),
        "envelopes": sorted(Envelope.objects.filter(poll_id=poll_id).values_list("id", flat=True)),
        "counters": sorted(
            TallyCell.objects.filter(poll_id=poll_id).values_list(
                "dimension", "value", "option_id", "count"
            )
        ),
        "state": CountState.objects.filter(poll_id=poll_id)
        .values_list("seq", "head", "counted", "final")
        .first(),
    }


def assert_counted_exactly_once(codes: list[str], cast_choices: dict[int, Counter]) -> None:
    """Every poll final, nothing left sealed, each receipt's tracker on its poll's board once,
    no other tracker there, seqs 1..n, and the totals exactly what was cast."""
    poll_ids = sorted(cast_choices)
    assert_box_consistent(poll_ids)
    assert_receipts_kept(codes, poll_ids)
    assert not Envelope.objects.filter(poll_id__in=poll_ids).exists()
    assert CountState.objects.filter(poll_id__in=poll_ids, final=True).count() == len(poll_ids)
    on_board: Counter = Counter()
    for poll_id in poll_ids:
        seqs = list(
            BoardEntry.objects.filter(poll_id=poll_id).order_by("seq").values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1)), (poll_id, seqs)
        for trackers in BoardEntry.objects.filter(poll_id=poll_id).values_list(
            "trackers", flat=True
        ):
            on_board.update(trackers)
        counted = tallies.read(poll_id).overall
        expected = cast_choices[poll_id]
        assert (counted.ballots, counted.votes) == (sum(expected.values()), dict(expected)), poll_id
        assert Participation.objects.filter(poll_id=poll_id).count() == counted.ballots
    assert on_board == Counter(receipts.tracker(code) for code in codes)  # each once, no other


# --- SIGKILL in the middle of a batch ------------------------------------------------------------


@pytest.mark.parametrize(
    "point",
    [TAKING_ENVELOPES, AFTER_BOARD_ENTRY, FINALIZING],
    ids=["taking-envelopes", "after-board-entry", "finalizing"],
)
def test_a_counter_sigkilled_mid_batch_leaves_nothing_of_it_and_a_fresh_one_counts_it_once(
    counters, point
):
    """A counter SIGKILLed while it holds a batch open (at each point a batch can be held): none
    of the batch is committed, and a fresh counter counts those very envelopes, once."""
    poll = PollFactory(options=["A", "B", "C"])
    codes, chosen = cast(poll, 4 * K)
    assert count_now() == 3 * K  # a first batch: the poll's counters exist
    more, more_chosen = cast(poll, 5 * K, offset=1)
    codes += more
    chosen += more_chosen
    if point == FINALIZING:
        close([poll.pk])

    with pg() as admin:
        with holding(point, [poll.pk]) as statement:
            doomed = counters("doomed", once=True)
            (pid,) = wait_until(
                lambda: blocked_on(admin, doomed, statement), f"the counter {point}", doomed
            )
            before = box(poll.pk)  # what was committed when it was held
            doomed.kill()
            assert doomed.process.returncode == -signal.SIGKILL
        # The lock released, the orphaned backend finds its client gone and rolls back.
        wait_until(
            lambda: pid not in [row[0] for row in backends(admin, doomed)],
            "the killed counter's backend to go away",
        )

    # Nothing of the held batch: no board entry, tracker, count or final state, every one of
    # its envelopes still sealed.
    assert box(poll.pk) == before
    assert len(before["envelopes"]) >= K and before["state"][3] is False
    assert_box_consistent([poll.pk])
    assert_receipts_kept(codes, [poll.pk])

    run_to_completion(counters("fresh", once=True))
    after = box(poll.pk)
    assert after["entries"][: len(before["entries"])] == before["entries"]  # the board only grew
    assert len(after["entries"]) > len(before["entries"])
    if point != FINALIZING:
        assert len(after["envelopes"]) == K  # the newest k wait for the next batch, or the close
        assert_box_consistent([poll.pk])
        assert_receipts_kept(codes, [poll.pk])
        close_and_count(poll)
    assert_counted_exactly_once(codes, {poll.pk: chosen})


# --- Counters racing -----------------------------------------------------------------------------

POLLS = size(6, 24)
RACERS = 3


def test_three_counters_racing_on_many_polls_count_every_envelope_exactly_once(counters):
    """Three counter services on the same polls while citizens keep voting and one poll closes:
    a poll is counted by one counter at a time (first, three batches of three different polls
    are held open at once), every envelope is counted exactly once, every board is numbered
    1..n without gaps."""
    polls = [PollFactory(options=["A", "B", "C"]) for _ in range(POLLS)]
    ids = [poll.pk for poll in polls]
    codes: list[str] = []
    chosen: dict[int, Counter] = {poll_id: Counter() for poll_id in ids}

    def vote(poll: Poll, n: int, offset: int) -> None:
        new, new_chosen = cast(poll, n, offset=offset)
        codes.extend(new)
        chosen[poll.pk] += new_chosen

    for i, poll in enumerate(polls):
        vote(poll, 3 * K, i)
    CountState.objects.bulk_create(
        [CountState(poll_id=poll_id) for poll_id in ids], ignore_conflicts=True
    )

    with pg() as admin:
        # Three batches held at once, each of its own poll: the counters share the polls.
        with holding(TAKING_ENVELOPES, ids) as statement:
            racers = [counters(f"racer{n}") for n in range(RACERS)]
            wait_until(
                lambda: sum(len(blocked_on(admin, c, statement)) for c in racers) == RACERS,
                "each counter to be in the middle of a batch",
                *racers,
            )
            with pg(autocommit=False) as probe:
                free = probe.execute(
                    "SELECT poll_id FROM voting_countstate WHERE poll_id = ANY(%s) "
                    "FOR UPDATE SKIP LOCKED",
                    [ids],
                ).fetchall()
                probe.rollback()
            assert len(ids) - len(free) == RACERS  # three polls held, one by each counter

        # Released: they go on, while citizens keep voting and one poll closes.
        rounds = size(3, 10)
        closing = polls[0]
        for round_ in range(rounds):
            for i, poll in enumerate(polls):
                if poll.pk == closing.pk and round_ >= rounds // 2:
                    continue
                vote(poll, size(2 * K + 1, 6 * K), round_ + i)
            if round_ == rounds // 2 - 1:
                close([closing.pk])
        wait_until(
            lambda: CountState.objects.filter(pk=closing.pk, final=True).exists(),
            "the poll closed during the race to be counted to the end",
            *racers,
        )
        assert not Envelope.objects.filter(poll_id=closing.pk).exists()
        assert all(c.alive() for c in racers), [c.output() for c in racers]

        close(ids)
        wait_until(
            lambda: (
                CountState.objects.filter(poll_id__in=ids, final=True).count() == len(ids)
                and not Envelope.objects.filter(poll_id__in=ids).exists()
            ),
            "every poll to be counted to the end",
            *racers,
        )
        for racer in racers:
            assert racer.stop() == 0, racer.output()

    assert_counted_exactly_once(codes, chosen)


def test_a_ballot_still_committing_when_its_poll_is_finalized_is_counted_not_left_sealed():
    """A citizen's ballot, begun while the poll is open, is held up inside its transaction (here
    behind another request of theirs, on the participation's unique index) past the close and
    its grace, and the counter finalizes the poll meanwhile. The other request fails, this one
    commits and is answered 201: its ballot must be counted, not left sealed outside the final
    totals."""
    poll = PollFactory(options=["A", "B", "C"])
    codes, chosen = cast(poll, 3 * K)
    voter = CitizenFactory(district_id=SAJIK, birth_year=1980, gender="female")
    option = poll.options.order_by("position").first().pk
    outcome: dict = {}

    def vote() -> None:
        try:
            outcome["result"] = casting.cast_ballot(poll=poll.pk, voter=voter, option_ids=[option])
        except Exception as exc:  # reported below, with the test's own assertions
            outcome["error"] = exc
        finally:
            connection.close()

    with pg() as admin, pg(autocommit=False) as other_request:
        other_request.execute(
            "INSERT INTO voting_participation (id, poll_id, voter_id, voter_key, voted_on) "
            "VALUES (gen_random_uuid(), %s, %s, 'the other request', current_date)",
            [poll.pk, voter.pk],
        )
        ballot = threading.Thread(target=vote)
        ballot.start()
        wait_until(
            lambda: admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND starts_with(query, %s)",
                ['INSERT INTO "voting_participation"'],
            ).fetchone()[0],
            "the ballot to wait behind the other request",
        )
        close([poll.pk])
        finished: dict = {}

        def final_count() -> None:
            try:
                finished["counted"] = count_now()
            finally:
                connection.close()

        counter = threading.Thread(target=final_count)
        counter.start()
        # The final count waits for the ballot already past its check (the poll's lock).
        wait_until(
            lambda: admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone()[0],
            "the final count to wait for the ballot still committing",
        )
        assert not CountState.objects.get(pk=poll.pk).final
        other_request.rollback()  # the other request fails; this one goes on and commits
        ballot.join(timeout=TIMEOUT)
        counter.join(timeout=TIMEOUT)
    assert not ballot.is_alive() and not counter.is_alive()
    assert "error" not in outcome, outcome
    assert outcome["result"].status_code == 201
    assert CountState.objects.get(pk=poll.pk).final
    assert not Envelope.objects.filter(poll_id=poll.pk).exists()
    codes.append(outcome["result"].body["receipt"])
    chosen[option] += 1
    assert_box_consistent([poll.pk])
    assert_counted_exactly_once(codes, {poll.pk: chosen})


# --- PostgreSQL connections killed ---------------------------------------------------------------


def test_counter_connections_killed_again_and_again_it_recovers_by_itself_and_writes_no_half(
    counters,
):
    """pg_terminate_backend on the counter service's connections, in the middle of its batch
    (held at each point in turn) and while it idles: each time nothing of the batch is left,
    and the same process carries on, until every poll is counted to the end."""
    polls = [PollFactory(options=["A", "B", "C"]) for _ in range(3)]
    ids = [poll.pk for poll in polls]
    codes: list[str] = []
    chosen: dict[int, Counter] = {poll_id: Counter() for poll_id in ids}
    for i, poll in enumerate(polls):
        new, new_chosen = cast(poll, 4 * K, offset=i)
        codes += new
        chosen[poll.pk] += new_chosen
    assert count_now() == 3 * 3 * K  # the polls' counters exist: both points can be held

    service = counters("service")
    with pg() as admin:
        for round_ in range(size(3, 12)):
            poll = polls[round_ % len(polls)]
            point = (AFTER_BOARD_ENTRY, TAKING_ENVELOPES)[round_ % 2]
            # Held first (the poll's counters, or the k envelopes its next batch starts with),
            # then the ballots that make a batch: the service cannot slip past the hold.
            with holding(point, [poll.pk]) as statement:
                new, new_chosen = cast(poll, 3 * K, offset=round_)
                codes += new
                chosen[poll.pk] += new_chosen
                (pid,) = wait_until(
                    lambda s=statement: blocked_on(admin, service, s),
                    f"the counter to stop {point}",
                    service,
                )
                before = {poll_id: box(poll_id) for poll_id in ids}
                killed = terminate(admin, service)
                assert pid in [killed_pid for killed_pid, _state in killed]
                wait_until(
                    lambda p=pid: p not in [row[0] for row in backends(admin, service)],
                    "the terminated backend to go away",
                    service,
                )
                # Nothing of the held batch was written, and nothing else moved meanwhile.
                assert {poll_id: box(poll_id) for poll_id in ids} == before
            assert service.alive(), service.output()
            # Released: the service retries by itself, on new connections, and counts it.
            wait_until(
                lambda p=poll: Envelope.objects.filter(poll_id=p.pk).count() < 2 * K,
                "the service to count the batch after its connection was killed",
                service,
            )
            assert_box_consistent(ids)
            assert_receipts_kept(codes, ids)
            # And while it idles between rounds: the connections it keeps are dead too.
            terminate(admin, service)

        close(ids)
        wait_until(
            lambda: CountState.objects.filter(poll_id__in=ids, final=True).count() == len(ids),
            "the service to count every poll to the end",
            service,
        )
        assert service.alive(), service.output()
        assert service.stop() == 0, service.output()

    assert_counted_exactly_once(codes, chosen)


# --- Redis down ----------------------------------------------------------------------------------


async def _listen_while(url: str, prefix: str, poll_id: int, act: Callable[[], int]):
    """Join the poll's live group on the Redis at ``url``, then ``act`` (which returns the total
    it expects), then wait for a live message carrying that total: (total, message or None)."""
    from channels_redis.core import RedisChannelLayer

    from voting.live import group_name

    layer = RedisChannelLayer(hosts=[url], prefix=prefix)
    try:
        channel = await layer.new_channel()
        await layer.group_add(group_name(poll_id), channel)
        total = await sync_to_async(act)()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while (left := deadline - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=left)
            except TimeoutError:
                break
            if (message.get("type"), message.get("poll"), message.get("total")) == (
                "tally",
                poll_id,
                total,
            ):
                return total, message
        return total, None
    finally:
        await layer.close_pools()


@pytest.mark.redis
def test_redis_down_while_counting_ballots_are_still_counted_and_live_messages_resume(counters):
    """Redis carries only the live message: with it stopped the counter goes on counting (the
    message is lost, as it says); with it back, the next batch's message is sent again."""
    redis = RedisServer().start()
    prefix = f"mvfaults{uuid.uuid4().hex[:8]}"
    poll = PollFactory(options=["A", "B", "C"])
    codes: list[str] = []
    chosen: Counter = Counter()
    service = counters(
        "live", REDIS_URL=redis.url, CHANNEL_LAYER_PREFIX=prefix, LIVE_MIN_INTERVAL="0.05"
    )

    def vote_and_settle(offset: int) -> int:
        """2k more ballots; once the counter has counted what it may, the total counted."""
        new, new_chosen = cast(poll, 2 * K, offset=offset)
        codes.extend(new)
        chosen.update(new_chosen)
        wait_until(
            lambda: Envelope.objects.filter(poll_id=poll.pk).count() < 2 * K,
            "the counter to count the batch",
            service,
        )
        assert service.alive(), service.output()
        return tallies.read(poll.pk).overall.ballots

    listen = async_to_sync(_listen_while)
    try:
        # Up: a batch counted reaches a listener through Redis.
        total, heard = listen(redis.url, prefix, poll.pk, lambda: vote_and_settle(0))
        assert total >= K
        assert heard is not None, f"no live message while Redis was up\n{service.output()}"
        assert heard["withheld"] is False

        redis.stop()
        for round_ in range(size(3, 8)):
            assert vote_and_settle(round_ + 1) > total
            total = tallies.read(poll.pk).overall.ballots
            assert_box_consistent([poll.pk])
            assert_receipts_kept(codes, [poll.pk])
        wait_until(
            lambda: f"live update for poll {poll.pk} not sent" in service.output(),
            "the counter to report the live message it could not send",
            service,
        )

        redis.start()  # the same port, empty: the listener joins again
        total, heard = listen(redis.url, prefix, poll.pk, lambda: vote_and_settle(9))
        assert heard is not None, f"no live message after Redis came back\n{service.output()}"

        close([poll.pk])
        wait_until(
            lambda: CountState.objects.filter(pk=poll.pk, final=True).exists(),
            "the poll to be counted to the end",
            service,
        )
        assert service.stop() == 0, service.output()
    finally:
        redis.stop()
    assert_counted_exactly_once(codes, {poll.pk: chosen})
