"""Coverage: who of a poll's audience took part, beside its population (the digital divide).

Pure, like voting/weighting.py: counts in, figures out. Turnout is participants ÷ residents, overall
and per gu, age band and sex. The participants of a row are a breakdown cell's ballots, so they are
withheld (with the turnout) on the results' rule for cells: fewer than ``minimum`` (k,
``BALLOT_BATCH_MIN``) but not none. A dimension's rows, with its "unknown" row (no residence, age
or a sex the registry records), add up to the total, so where only one row would be withheld the
smallest shown one is withheld too. A zero is shown: that nobody took part reveals nobody's ballot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from voting.weighting import MARGINS, Cell

# The results' age bands (voting/casting.py ``age_band``): decades, the oldest "80 and over".
AGE_BAND_WIDTH = 10
AGE_BAND_TOP = 80


def band_of_age(age: int) -> int:
    """The results' age band of an age in years (as voting/casting.py ``age_band``)."""
    return max(0, min(age // AGE_BAND_WIDTH * AGE_BAND_WIDTH, AGE_BAND_TOP))


def population_by_band(
    *,
    cells: Mapping[tuple[str, int, str], float],
    min_age: int | None = None,
    max_age: int | None = None,
    band_width: int = 5,
) -> dict[Cell, float]:
    """The registry's counts by (gu, first year of a 5-year band, sex) in the results' age bands,
    restricted to ages ``min_age``..``max_age``. A band the limits cut is prorated by the years it
    keeps, as if its residents were spread evenly over them (the open band, 100 and over, counts
    as ``band_width`` years from 100)."""
    out: dict[Cell, float] = defaultdict(float)
    for (gu, age_from, sex), population in cells.items():
        low = age_from if min_age is None else max(age_from, min_age)
        high = age_from + band_width - 1
        high = high if max_age is None else min(high, max_age)
        if high >= low and population > 0:
            out[Cell(gu, band_of_age(age_from), sex)] += population * (high - low + 1) / band_width
    return dict(out)


@dataclass(frozen=True, slots=True)
class CoverageRow:
    # A gu code, an age band or a sex; None: unknown (or a value the population lacks).
    value: str | int | None
    population: float | None
    participants: int | None
    turnout: float | None

    @property
    def suppressed(self) -> bool:
        return self.participants is None


@dataclass(frozen=True, slots=True)
class Coverage:
    population: float
    registered: int | None
    # Registered citizens ÷ residents: how much of the audience the service reaches at all.
    registered_share: float | None
    participants: int | None
    turnout: float | None
    turnout_of_registered: float | None
    gu: tuple[CoverageRow, ...]
    age_band: tuple[CoverageRow, ...]
    sex: tuple[CoverageRow, ...]


def _ratio(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else part / whole


def _withheld(counts: Mapping[str | int | None, int], *, minimum: int) -> set[str | int | None]:
    hidden = {value for value, n in counts.items() if 0 < n < minimum}
    if len(hidden) == 1 and len(counts) > 1:
        shown = [value for value in counts if value not in hidden]
        hidden.add(min(shown, key=lambda value: (counts[value], str(value))))
    return hidden


def _rows(
    *,
    margin: str,
    participants: Mapping[Cell, int],
    population: Mapping[Cell, float],
    minimum: int,
    withhold_all: bool,
) -> tuple[CoverageRow, ...]:
    residents: dict[str | int | None, float] = defaultdict(float)
    for cell, count in population.items():
        if count > 0:
            residents[cell.value(margin)] += count
    counts: dict[str | int | None, int] = dict.fromkeys(sorted(residents, key=str), 0)
    counts[None] = 0
    for cell, n in participants.items():
        value = cell.value(margin)
        counts[value if value in residents else None] += n
    hidden = set(counts) if withhold_all else _withheld(counts, minimum=minimum)
    rows = []
    for value, n in counts.items():
        shown = None if value in hidden else n
        rows.append(
            CoverageRow(
                value=value,
                population=residents.get(value) if value is not None else None,
                participants=shown,
                turnout=_ratio(shown, residents.get(value)) if value is not None else None,
            )
        )
    return tuple(rows)


def coverage(
    *,
    participants: Mapping[Cell, int],
    population: Mapping[Cell, float],
    registered: int | None,
    minimum: int,
) -> Coverage:
    """Coverage of the audience whose residents per cell are ``population`` (voting/weighting.py's
    cells, results' age bands) by the poll's ``participants`` per joint cell (unknown attributes
    ``None``); ``registered``: the citizens registered in the audience, where known."""
    residents = sum(count for count in population.values() if count > 0)
    total = sum(participants.values())
    withhold_all = total < minimum
    shown_total = None if withhold_all else total
    by_margin = {
        margin: _rows(
            margin=margin,
            participants=participants,
            population=population,
            minimum=minimum,
            withhold_all=withhold_all,
        )
        for margin in MARGINS
    }
    return Coverage(
        population=residents,
        registered=registered,
        registered_share=_ratio(registered, residents),
        participants=shown_total,
        turnout=_ratio(shown_total, residents),
        turnout_of_registered=_ratio(shown_total, registered),
        gu=by_margin["gu"],
        age_band=by_margin["age_band"],
        sex=by_margin["sex"],
    )
