"""The count: sealed envelopes become anonymous ballots, in shuffled batches of at least k.

One batch is one transaction (``count_poll``):
lock the poll's ``CountState`` (``SKIP LOCKED``: counters run side by side, one per poll at a
time) → read the oldest envelopes → open them with the counter's private key → shuffle → append
one signed entry to the poll's board (sorted trackers; the ballots, shuffled separately) → add the
batch to the overall counters and to the sealed breakdown accumulator → delete the envelopes.
Killed anywhere before the commit, nothing of it happened; after it, each envelope has become a
ballot exactly once. The live snapshot is published after the commit.

How much is counted (k = ``BALLOT_BATCH_MIN``): while the poll is open, only when at least 2k
envelopes are sealed, and never the newest k — so every change of a total, including the last,
is the sum of at least k ballots. Once the poll has closed (and ``BALLOT_CLOSE_GRACE_SECONDS``
have passed, for ballots still committing), the rest is counted, the breakdown cells of at least
k ballots are written once, and the poll is final. A poll whose whole turnout is below k is
final with nothing counted: its envelopes stay sealed, and it shows no totals anywhere.
"""

import logging
import random
import threading
from collections import Counter as Multiset
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Count
from django.db.models.functions import Now
from django.utils import timezone

from verifier.verify_board import entry_hash, signed_message
from voting import ballot_sql, evidence, live, questions, sealing, tallies, weighting
from voting.models import (
    BoardEntry,
    BoardTracker,
    Channel,
    CountState,
    Envelope,
    Poll,
    TallyCell,
)

logger = logging.getLogger(__name__)
_shuffle = random.SystemRandom().shuffle

BREAKDOWN_DIMENSIONS = (("gu", "g"), ("age", "a"), ("gender", "s"), ("channel", "c"))


class IntegrityAlarm(Exception):
    """An envelope that should not exist: sealed for another poll, or choosing what the poll does
    not offer. The poll is not counted until an operator looks (the envelope stays)."""


@dataclass(frozen=True)
class Batch:
    poll_id: int
    seq: int | None  # the board entry written, or None (nothing counted: finalized only)
    size: int
    final: bool


def k() -> int:
    return settings.BALLOT_BATCH_MIN


def polls_with_work(*, now: datetime | None = None) -> list[int]:
    """Polls the counter has something to do for: 2k or more envelopes sealed, or closed (past
    the grace) and not final yet. Two small queries, whatever the number of ballots."""
    grace = timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS)
    closed_before = (now - grace) if now is not None else Now() - grace
    pending = dict(
        Envelope.objects.values_list("poll_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("poll_id", "n")
    )
    closed = set(
        Poll.objects.filter(pk__in=list(pending), closes_at__lte=closed_before)
        .exclude(count_state__final=True)
        .values_list("pk", flat=True)
    )
    closed |= set(
        CountState.objects.filter(final=False, poll__closes_at__lte=closed_before).values_list(
            "poll_id", flat=True
        )
    )
    busy = {poll_id for poll_id, n in pending.items() if n >= 2 * k()}
    return sorted(busy | closed)


def count_poll(
    *, poll_id: int, counter: sealing.Counter, now: datetime | None = None
) -> Batch | None:
    """Count one batch of ``poll_id`` if there is one to count; None if there is nothing to do or
    another counter holds the poll."""
    stamp = now or timezone.now()
    CountState.objects.bulk_create([CountState(poll_id=poll_id)], ignore_conflicts=True)
    with transaction.atomic():
        state = CountState.objects.select_for_update(skip_locked=True).filter(poll_id=poll_id)
        state = state.first()
        if state is None or state.final:
            return None
        poll = Poll.objects.prefetch_related("options").get(pk=poll_id)
        closed = _closed(poll_id=poll_id, now=now)
        if closed:
            # Wait for every ballot still committing in this poll: after this, none can be
            # accepted (ballot_sql.lock_poll_for_cast), so the final count misses none.
            ballot_sql.lock_poll_for_final_count(poll_id=poll_id)
        # Counted only as far as the decision needs: a hot poll's backlog is not scanned whole.
        cap = settings.BALLOT_BATCH_MAX + 2 * k()
        pending = Envelope.objects.filter(poll_id=poll_id).order_by()[:cap].count()
        # The whole turnout below k: nothing is ever counted, the envelopes stay sealed.
        below_k = closed and state.counted == 0 and pending < k()
        take = 0 if below_k else _how_many(pending=pending, closed=closed)
        envelopes = _take_oldest(poll_id=poll_id, n=take) if take else []
        if envelopes:
            _count(poll=poll, state=state, envelopes=envelopes, counter=counter, now=stamp)
        done = closed and (take == pending or below_k)
        if done:
            _finalize(poll=poll, state=state, counter=counter, now=stamp)
        if not envelopes and not done:
            return None
        state.save()
        transaction.on_commit(partial(live.tally_changed, poll_id))
    if envelopes:
        logger.info("counted a batch of %s ballots in poll %s", len(envelopes), poll_id)
    return Batch(
        poll_id=poll_id, seq=state.seq if envelopes else None, size=len(envelopes), final=done
    )


def _closed(*, poll_id: int, now: datetime | None) -> bool:
    """Closed for counting: past its close and the grace, by the database's clock — the clock
    ballots are judged by — unless a moment is given (tests, a replay)."""
    grace = timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS)
    limit = (now - grace) if now is not None else Now() - grace
    return Poll.objects.filter(pk=poll_id, closes_at__lte=limit).exists()


def _take_oldest(*, poll_id: int, n: int) -> list[bytes]:
    """Delete the poll's ``n`` oldest envelopes and return what they held — in the transaction
    that counts them, so they are counted and gone together, or neither. One statement: the
    subquery sees only committed envelopes, so one whose transaction took an older id but
    commits later is simply left for the next batch."""
    table = connection.ops.quote_name(Envelope._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN ("  # noqa: S608
            f"SELECT id FROM {table} WHERE poll_id = %s ORDER BY id LIMIT %s"
            ") RETURNING sealed",
            [poll_id, n],
        )
        return [bytes(row[0]) for row in cursor.fetchall()]


def _how_many(*, pending: int, closed: bool) -> int:
    limit = settings.BALLOT_BATCH_MAX
    if closed:
        if pending <= limit:
            return pending
        # Several batches: each at least k, and at least k left for the last one.
        return min(limit, pending - k())
    if pending < 2 * k():
        return 0
    return min(limit, pending - k())


def _count(
    *,
    poll: Poll,
    state: CountState,
    envelopes: list[bytes],
    counter: sealing.Counter,
    now: datetime,
) -> None:
    question = questions.Question.of(poll)
    offered = [option.pk for option in poll.options.all()]
    opened = [counter.open(sealed) for sealed in envelopes]
    for payload in opened:
        if payload.get("p") != poll.pk or questions.problem(
            question=question, ballot=payload.get("o") or [], offered=offered
        ):
            raise IntegrityAlarm(f"an envelope in poll {poll.pk} is not a valid ballot of it")
    _shuffle(opened)
    trackers = sorted(payload["t"] for payload in opened)
    ballots = [questions.board_form(kind=poll.kind, ballot=payload["o"]) for payload in opened]
    _shuffle(ballots)

    # How many of the batch came through each channel: per batch, never per ballot.
    channels = dict(sorted(Multiset(p.get("c") or Channel.APP for p in opened).items()))
    seq = state.seq + 1
    digest = entry_hash(poll.pk, seq, state.head, trackers, ballots, channels)
    entry = BoardEntry.objects.create(
        poll=poll,
        seq=seq,
        prev=state.head,
        hash=digest,
        signature=counter.sign(signed_message(poll.pk, seq, digest)),
        trackers=trackers,
        ballots=ballots,
        channels=channels,
        size=len(ballots),
        counted_at=now,
    )
    _insert_trackers(entry_id=entry.pk)
    counts: Multiset[tuple[str, str, int]] = Multiset()
    for ballot in ballots:
        counts.update(tallies.ballot_counts(kind=poll.kind, ballot=ballot, options=offered))
    tallies.add(poll_id=poll.pk, counts=counts)
    accumulator = counter.open_state(state.sealed_breakdown)
    for payload in opened:
        # Envelopes sealed before channels were recorded came through the app.
        payload.setdefault("c", Channel.APP)
        # A breakdown cell's votes: the options chosen, ranked first, or scored.
        named = questions.options_named(kind=poll.kind, ballot=payload["o"])
        votes = named[:1] if poll.kind == Poll.Kind.RANKED else named
        cells = [
            (dimension, tallies.UNKNOWN if payload.get(key) in (None, "") else str(payload[key]))
            for dimension, key in BREAKDOWN_DIMENSIONS
        ]
        # The joint cell (gu × age band × sex), for the weighting at the final count only: it
        # never leaves this sealed state (voting/evidence.py).
        joint = "|".join("" if payload.get(key) is None else str(payload[key]) for key in "gas")
        cells.append(("joint", joint))
        for dimension, value in cells:
            cell = accumulator.setdefault(dimension, {}).setdefault(value, {"n": 0, "v": {}})
            cell["n"] += 1
            for option_id in votes:
                cell["v"][str(option_id)] = cell["v"].get(str(option_id), 0) + 1
    state.sealed_breakdown = counter.seal_state(accumulator)
    state.seq = seq
    state.head = digest
    state.counted += len(ballots)


def _insert_trackers(*, entry_id: int) -> None:
    # The receipts' index, read from the entry just written, inside the database: building a
    # model instance per tracker (or sending each again as a parameter) cost the count a third
    # of its time, profiled. The JSON function is each database's name for the same thing.
    table = connection.ops.quote_name(BoardTracker._meta.db_table)
    entries = connection.ops.quote_name(BoardEntry._meta.db_table)
    elements = (
        "jsonb_array_elements_text(e.trackers) AS t(value)"
        if connection.vendor == "postgresql"
        else "json_each(e.trackers) AS t"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tracker, entry_id) "  # noqa: S608
            f"SELECT t.value, e.id FROM {entries} AS e, {elements} WHERE e.id = %s",
            [entry_id],
        )


def _finalize(*, poll: Poll, state: CountState, counter: sealing.Counter, now: datetime) -> None:
    """Write the breakdown once: each dimension's cells of at least k ballots, withholding more
    where what is left over (the total minus the cells shown) would be a group below k."""
    accumulator = counter.open_state(state.sealed_breakdown)
    counts: dict[tuple[str, str, int], int] = {}
    for dimension, _key in BREAKDOWN_DIMENSIONS:
        for value in publishable_cells(
            {value: cell["n"] for value, cell in accumulator.get(dimension, {}).items()},
            total=state.counted,
        ):
            cell = accumulator[dimension][value]
            counts[(dimension, value, tallies.BALLOTS)] = cell["n"]
            for option_id, n in cell["v"].items():
                counts[(dimension, value, int(option_id))] = n
    breakdown_dimensions = [dimension for dimension, _key in BREAKDOWN_DIMENSIONS]
    TallyCell.objects.filter(poll_id=poll.pk, dimension__in=breakdown_dimensions).delete()
    tallies.add(poll_id=poll.pk, counts=counts)
    if state.counted:
        state.evidence = _evidence(poll=poll, joint=accumulator.get("joint", {}))
    # Published once; the finer detail of the withheld cells, and the joint cells, are not kept.
    state.sealed_breakdown = None
    state.final = True
    state.finalized_at = now


def _evidence(*, poll: Poll, joint: dict[str, dict]) -> dict | None:
    """Weighted shares and coverage from the joint cells (voting/evidence.py). A failure here
    must not hold the final count back: the results stand without evidence, and it is logged."""
    sample = {}
    for key, cell in joint.items():
        gu, age, sex = key.split("|")
        sample[weighting.Cell(gu or None, int(age) if age else None, sex or None)] = (
            weighting.CellCounts(
                ballots=cell["n"], votes={int(option): n for option, n in cell["v"].items()}
            )
        )
    try:
        return evidence.document(poll=poll, sample=sample)
    except Exception:
        logger.exception("poll %s: no evidence computed at the final count", poll.pk)
        return None


def publishable_cells(cells: dict[str, int], *, total: int) -> list[str]:
    """The cells of one dimension that may be shown: at least k ballots each, and — since the
    total minus the shown cells is the sum of the others — whatever is withheld is either nothing
    or at least k ballots (the smallest shown cells are withheld until it is)."""
    shown = sorted((n, value) for value, n in cells.items() if n >= k())
    rest = total - sum(n for n, _value in shown)
    while shown and 0 < rest < k():
        n, _value = shown.pop(0)
        rest += n
    return sorted(value for _n, value in shown)


def count_all(
    *,
    counter: sealing.Counter | None = None,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Count every batch there is to count now; the number of ballots counted. Tests and the
    embedded default call this; the counter service calls it in a loop."""
    counter = counter or sealing.Counter()
    counted = 0
    while not (stop and stop.is_set()):
        progress = False
        for poll_id in polls_with_work(now=now):
            # A poll's batches one after another, before looking for work again.
            while not (stop and stop.is_set()):
                try:
                    batch = count_poll(poll_id=poll_id, counter=counter, now=now)
                except (IntegrityAlarm, sealing.SealingError) as exc:
                    logger.error("poll %s not counted: %s", poll_id, exc)
                    break
                if batch is None or batch.size == 0:
                    break
                counted += batch.size
                progress = True
        if not progress:
            break
    return counted


def run_forever(*, stop: threading.Event | None = None) -> None:
    """The counter service: count whatever there is, then look again every COUNT_INTERVAL."""
    stop = stop or threading.Event()
    counter = sealing.Counter()
    logger.info("counter started (k=%s, every %ss)", k(), settings.COUNT_INTERVAL)
    while not stop.is_set():
        try:
            count_all(counter=counter, stop=stop)
        except Exception as exc:
            # The database away: nothing was counted (the transaction rolled back); try again
            # on a new connection.
            logger.warning("count round failed: %s", type(exc).__name__)
            connections.close_all()
            stop.wait(1.0)
        stop.wait(settings.COUNT_INTERVAL)
