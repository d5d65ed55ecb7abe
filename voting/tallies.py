"""Exact tallies that cost the same to read at 1k ballots as at 1M.

Counters live in ``TallyCell`` rows: overall and, once a poll is final, per breakdown cell (gu,
age band, gender), one counter for the ballots and one per option. Only the counter writes them,
a whole batch at a time (voting/counting.py); reading sums them in one statement. ``recount``
counts the public board itself, for verification.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from voting.models import BoardEntry, TallyCell

BALLOTS = 0  # option_id of the counter that counts ballots rather than votes for an option
OVERALL = ("", "")
UNKNOWN = "unknown"


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
    }


def cells_of(*, gu: str, age_band: int | None, gender: str) -> list[tuple[str, str]]:
    """The breakdown cells one ballot counts in."""
    return [
        OVERALL,
        ("gu", gu or UNKNOWN),
        ("age", UNKNOWN if age_band is None else str(age_band)),
        ("gender", gender or UNKNOWN),
    ]


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
    choices), so this recounts the overall counters only."""
    overall = Counts()
    for ballots in BoardEntry.objects.filter(poll_id=poll_id).values_list("ballots", flat=True):
        for ballot in ballots:
            overall.ballots += 1
            for option_id in ballot:
                overall.votes[option_id] = overall.votes.get(option_id, 0) + 1
    return Tally(overall=overall, breakdown={})


def _cell_value(value: object) -> str:
    return UNKNOWN if value in (None, "") else str(value)


def _assemble(rows: Iterable[tuple[str, str, int, int]]) -> Tally:
    overall = Counts()
    breakdown: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    for dimension, value, option_id, total in rows:
        counts = overall if not dimension else breakdown[dimension][value]
        if option_id == BALLOTS:
            counts.ballots += int(total or 0)
        else:
            counts.votes[option_id] = counts.votes.get(option_id, 0) + int(total or 0)
    return Tally(
        overall=overall,
        breakdown={dimension: dict(cells) for dimension, cells in breakdown.items()},
    )
