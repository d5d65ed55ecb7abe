"""Exact tallies that cost the same to read at 1k ballots as at 1M.

Counters live in ``TallyCell`` rows: overall and per breakdown cell (gu, age band, gender), one
counter for the ballots and one per option, each spread over ``TALLY_SLOTS`` rows. A ballot adds 1
to its counters in a randomly drawn slot, in one statement inside the ballot's transaction; reading
sums the slots in one statement. ``recount`` counts the ballots themselves, for verification.
"""

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum

from voting.models import Ballot, BallotChoice, TallyCell

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


def record(
    *, poll_id: int, option_ids: Iterable[int], gu: str, age_band: int | None, gender: str
) -> None:
    """Count one ballot: +1 to its ballot counter and each chosen option's, in every cell."""
    slot = secrets.randbelow(settings.TALLY_SLOTS)
    counters = [BALLOTS, *sorted(set(option_ids))]
    # Sorted rows: every ballot locks counter rows in the same order, so two ballots never
    # deadlock on each other's rows.
    rows = sorted(
        (dimension, value, option_id)
        for dimension, value in cells_of(gu=gu, age_band=age_band, gender=gender)
        for option_id in counters
    )
    table = connection.ops.quote_name(TallyCell._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, 1)"] * len(rows))
    params: list = []
    for dimension, value, option_id in rows:
        params += [poll_id, slot, dimension, value, option_id]
    # An upsert creates a counter the first time a cell sees a ballot, so nothing has to be
    # prepared per poll and unused cells cost nothing. Portable: PostgreSQL and SQLite ≥ 3.24.
    sql = (
        f"INSERT INTO {table} (poll_id, slot, dimension, value, option_id, count) "  # noqa: S608
        f"VALUES {values} "
        "ON CONFLICT (poll_id, dimension, value, option_id, slot) "
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
    """Count the ballots themselves. Grows with the ballots: for verification, not for reads."""
    rows: list[tuple[str, str, int, int]] = []
    ballots = Ballot.objects.filter(poll_id=poll_id)
    choices = BallotChoice.objects.filter(ballot__poll_id=poll_id)
    rows.append(("", "", BALLOTS, ballots.count()))
    rows += [
        ("", "", option_id, n)
        for option_id, n in choices.values_list("option_id").annotate(n=Count("id")).order_by()
    ]
    for dimension, column in (("gu", "gu_code"), ("age", "age_band"), ("gender", "gender")):
        for value, n in ballots.values_list(column).annotate(n=Count("id")).order_by():
            rows.append((dimension, _cell_value(value), BALLOTS, n))
        for value, option_id, n in (
            choices.values_list(f"ballot__{column}", "option_id").annotate(n=Count("id")).order_by()
        ):
            rows.append((dimension, _cell_value(value), option_id, n))
    return _assemble(rows)


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
