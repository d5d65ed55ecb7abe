"""Exact tallies that cost the same to read at 1k ballots as at 1M.

Counters live in ``TallyCell`` rows: overall and, once a poll is final, per breakdown cell (gu,
age band, gender), one counter for the ballots and one per option (ballots naming it: chosen,
ranked or scored). Ranked and score questions add overall counters per rank position, per pair of
options, per distinct ranking and per score value (``ballot_counters``). Only the counter writes
them, a whole batch at a time (voting/counting.py); reading sums them in one statement.
``recount`` counts the public board itself, for verification: every overall counter is a sum over
the board's ballots, so it recounts them all.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from voting.models import BoardEntry, Option, Poll, TallyCell

BALLOTS = 0  # option_id of the counter that counts ballots rather than votes for an option
OVERALL = ("", "")
UNKNOWN = "unknown"
# Overall counters of ranked and score ballots (dimension names).
RANK, PAIR, ORDER, SCORE = "rank", "pair", "order", "score"
BALLOT_DIMENSIONS = (RANK, PAIR, ORDER, SCORE)
ORDER_SEPARATOR = ">"


@dataclass
class Counts:
    """Ballots and votes per option, for the whole poll or one breakdown cell."""

    ballots: int = 0
    votes: dict[int, int] = field(default_factory=dict)


@dataclass
class Tally:
    overall: Counts
    # dimension ("gu", "age", "gender") → value → counts
    breakdown: dict[str, dict[str, Counts]]
    # Ranked questions: position (from 0) → option → ballots; (a, b) → ballots ranking a above b;
    # a whole ranking → ballots. Score questions: option → score → ballots.
    ranks: dict[int, dict[int, int]] = field(default_factory=dict)
    pairs: dict[tuple[int, int], int] = field(default_factory=dict)
    orders: dict[tuple[int, ...], int] = field(default_factory=dict)
    scores: dict[int, dict[int, int]] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tally):
            return NotImplemented
        return _normalised(self) == _normalised(other)


def _normalised(tally: Tally) -> dict:
    def strip(counts: Counts) -> tuple:
        return counts.ballots, {k: v for k, v in counts.votes.items() if v}

    return {
        "overall": strip(tally.overall),
        "breakdown": {
            dim: {value: strip(c) for value, c in cells.items() if c.ballots}
            for dim, cells in tally.breakdown.items()
        },
        **ballot_counters_of(tally),
    }


def ballot_counters_of(tally: Tally) -> dict[str, dict]:
    """The ranked and score counters of ``tally``, zeros dropped: what a recount compares."""

    def nonzero(mapping: Mapping) -> dict:
        return {key: n for key, n in mapping.items() if n}

    return {
        "ranks": {p: nonzero(c) for p, c in tally.ranks.items() if nonzero(c)},
        "pairs": nonzero(tally.pairs),
        "orders": nonzero(tally.orders),
        "scores": {o: nonzero(c) for o, c in tally.scores.items() if nonzero(c)},
    }


def cells_of(*, gu: str, age_band: int | None, gender: str) -> list[tuple[str, str]]:
    """The breakdown cells one ballot counts in."""
    return [
        OVERALL,
        ("gu", gu or UNKNOWN),
        ("age", UNKNOWN if age_band is None else str(age_band)),
        ("gender", gender or UNKNOWN),
    ]


def ballot_counts(
    *, kind: str, ballot: list, options: Iterable[int]
) -> dict[tuple[str, str, int], int]:
    """The overall counters one board ballot adds to (``kind``: the poll's question kind;
    ``options``: all the poll's option ids): the same function counts a batch
    (voting/counting.py) and recounts the board (``recount``)."""
    counts: dict[tuple[str, str, int], int] = {(*OVERALL, BALLOTS): 1}
    if kind == "score":
        for option_id, score in ballot:
            counts[(*OVERALL, option_id)] = 1
            counts[(SCORE, str(score), option_id)] = 1
        return counts
    for option_id in ballot:
        counts[(*OVERALL, option_id)] = 1
    if kind == "ranked":
        unranked = [option_id for option_id in options if option_id not in ballot]
        for position, option_id in enumerate(ballot):
            counts[(RANK, str(position), option_id)] = 1
            # Above every option ranked after it and every option left unranked (two unranked
            # options: no preference between them).
            for below in [*ballot[position + 1 :], *unranked]:
                counts[(PAIR, str(option_id), below)] = 1
        counts[(ORDER, ORDER_SEPARATOR.join(map(str, ballot)), BALLOTS)] = 1
    return counts


def add(*, poll_id: int, counts: Mapping[tuple[str, str, int], int]) -> None:
    """Add ``counts`` ((dimension, value, option id) → n) to the poll's counters, in one
    statement. Callers hold the poll's count lock (voting/counting.py), so nothing races."""
    rows = sorted((key, n) for key, n in counts.items() if n)
    if not rows:
        return
    table = connection.ops.quote_name(TallyCell._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for (dimension, value, option_id), n in rows:
        params += [poll_id, dimension, value, option_id, n]
    # Portable upsert: PostgreSQL and SQLite >= 3.24.
    sql = (
        f"INSERT INTO {table} (poll_id, dimension, value, option_id, count) "  # noqa: S608
        f"VALUES {values} "
        "ON CONFLICT (poll_id, dimension, value, option_id) "
        f"DO UPDATE SET count = {table}.count + excluded.count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def read(poll_id: int) -> Tally:
    """Current totals: one query over the poll's counters (cells × slots, never ballots)."""
    rows = (
        TallyCell.objects.filter(poll_id=poll_id)
        .values_list("dimension", "value", "option_id")
        .annotate(total=Sum("count"))
        .order_by()
    )
    return _assemble(rows)


def participants() -> Coalesce:
    """A poll row's ballots counted so far (its counter of ballots), as a column."""
    ballots = TallyCell.objects.filter(poll_id=OuterRef("pk"), dimension="", option_id=BALLOTS)
    total = ballots.values("poll_id").annotate(total=Sum("count")).values("total")
    return Coalesce(Subquery(total), 0)


def read_totals(poll_ids: Iterable[int]) -> dict[int, int]:
    """Ballots per poll for many polls at once (poll lists): one query."""
    rows = (
        TallyCell.objects.filter(poll_id__in=list(poll_ids), dimension="", option_id=BALLOTS)
        .values_list("poll_id")
        .annotate(total=Sum("count"))
        .order_by()
    )
    return dict(rows)


def recount(poll_id: int) -> Tally:
    """Count the board itself: every counted ballot is on it. Grows with the ballots: for
    verification, not for reads. Breakdowns are not on the board (they would tie attributes to
    choices), so this recounts the overall counters only — every one of them, ranked and score
    counters included, with the same ``ballot_counts`` the counter adds."""
    poll = Poll.objects.only("kind").get(pk=poll_id)
    options = list(Option.objects.filter(poll_id=poll_id).values_list("pk", flat=True))
    totals: dict[tuple[str, str, int], int] = defaultdict(int)
    for ballots in BoardEntry.objects.filter(poll_id=poll_id).values_list("ballots", flat=True):
        for ballot in ballots:
            for key, n in ballot_counts(kind=poll.kind, ballot=ballot, options=options).items():
                totals[key] += n
    return _assemble((dim, value, option_id, n) for (dim, value, option_id), n in totals.items())


def _cell_value(value: object) -> str:
    return UNKNOWN if value in (None, "") else str(value)


def _assemble(rows: Iterable[tuple[str, str, int, int]]) -> Tally:
    overall = Counts()
    breakdown: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    tally = Tally(overall=overall, breakdown={})
    for dimension, value, option_id, total in rows:
        n = int(total or 0)
        if dimension in BALLOT_DIMENSIONS:
            _assemble_ballot_counter(tally, dimension, value, option_id, n)
            continue
        counts = overall if not dimension else breakdown[dimension][value]
        if option_id == BALLOTS:
            counts.ballots += n
        else:
            counts.votes[option_id] = counts.votes.get(option_id, 0) + n
    tally.breakdown = {dimension: dict(cells) for dimension, cells in breakdown.items()}
    return tally


def _assemble_ballot_counter(tally: Tally, dimension: str, value: str, option_id: int, n: int):
    if dimension == RANK:
        by_option = tally.ranks.setdefault(int(value), {})
        by_option[option_id] = by_option.get(option_id, 0) + n
    elif dimension == PAIR:
        key = (int(value), option_id)
        tally.pairs[key] = tally.pairs.get(key, 0) + n
    elif dimension == ORDER:
        ranking = tuple(int(part) for part in value.split(ORDER_SEPARATOR))
        tally.orders[ranking] = tally.orders.get(ranking, 0) + n
    else:
        by_score = tally.scores.setdefault(option_id, {})
        by_score[int(value)] = by_score.get(int(value), 0) + n
