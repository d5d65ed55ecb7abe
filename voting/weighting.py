"""Census weighting of a poll's results: raking to the audience's population, Kish, margins.

Pure: aggregate counts in, figures out; no model, no database. The counter holds the ballots per
joint cell (gu × age band × sex) only in its sealed accumulator and calls ``weight_results`` at
close; nothing per joint cell is ever written or returned. The weightable ballots are raked (by
weightipy) to the audience's population on three margins — gu, age band, sex, not their joint
cells — with weights capped at ``Policy.cap`` times the mean (raking goes on under the cap).
Ballots of an unknown cell (no residence or birth year, a gender the registry lacks) or outside
the population count in the raw shares only. Weighting is refused (``Refusal``, a value) without
a population, below ``Policy.min_ballots``, for a margin class with residents and no ballot, and
where the cap leaves a margin more than ``Policy.tolerance`` off: skewed figures are not published.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial

import numpy as np
from django.utils.translation import gettext as _

# The registry's sexes (districts.models.PopulationCell.Sex), the same values as a citizen's gender.
SEXES = ("female", "male")
MARGINS = ("gu", "age_band", "sex")
Z_95 = 1.96


@dataclass(frozen=True, slots=True)
class Cell:
    """A joint cell; ``None`` where the attribute is unknown."""

    gu: str | None
    age_band: int | None
    sex: str | None

    def value(self, margin: str) -> str | int | None:
        return {"gu": self.gu, "age_band": self.age_band, "sex": self.sex}[margin]


@dataclass(frozen=True, slots=True)
class CellCounts:
    """Ballots of one joint cell and their votes per option id (a multiple-choice ballot votes
    for several options, so the votes may add up to more than the ballots)."""

    ballots: int
    votes: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    # Largest weight, as a multiple of the mean weight.
    cap: float = 5.0
    # Largest relative gap |weighted total / population − 1| allowed in any margin category.
    tolerance: float = 0.001
    max_iterations: int = 1000
    # Fewer weightable ballots than this: no weighted figures.
    min_ballots: int = 100
    # An option's weighted share is withheld where fewer ballots chose it (RESULTS_MIN_CELL).
    min_cell: int = 5


def policy_from_settings() -> Policy:
    from django.conf import settings

    return Policy(
        cap=settings.WEIGHTING_CAP,
        tolerance=settings.WEIGHTING_TOLERANCE,
        min_ballots=settings.WEIGHTING_MIN_BALLOTS,
        min_cell=settings.RESULTS_MIN_CELL,
    )


class RefusalReason(StrEnum):
    NO_POPULATION = "no_population"
    TOO_FEW_BALLOTS = "too_few_ballots"
    EMPTY_CLASS = "empty_class"
    MARGINS_NOT_MET = "margins_not_met"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why there are no weighted figures. Language-neutral: ``detail`` is rendered when read."""

    reason: RefusalReason
    ballots: int = 0
    weightable_ballots: int = 0
    min_ballots: int = 0
    margin: str | None = None
    category: str | int | None = None
    largest_margin_gap: float | None = None
    cap: float | None = None

    @property
    def detail(self) -> str:
        if self.reason == RefusalReason.NO_POPULATION:
            return _("No population table covers this poll's audience.")
        if self.reason == RefusalReason.TOO_FEW_BALLOTS:
            return _("Only %(have)d ballots can be weighted; at least %(need)d are needed.") % {
                "have": self.weightable_ballots,
                "need": self.min_ballots,
            }
        margin = {"gu": _("gu"), "age_band": _("age band"), "sex": _("sex")}.get(
            self.margin or "", self.margin
        )
        if self.reason == RefusalReason.EMPTY_CLASS:
            return _("No ballot from %(margin)s %(category)s, which has residents.") % {
                "margin": margin,
                "category": self.category,
            }
        return _(
            "Under the weight cap (%(cap)s× the mean) the population is matched only to within "
            "%(gap).1f%% (%(margin)s %(category)s)."
        ) % {
            "cap": self.cap,
            "gap": 100 * (self.largest_margin_gap or 0.0),
            "margin": margin,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True)
class Raking:
    """Per-ballot weight of each weightable cell, summing to the population. Never published."""

    weights: Mapping[Cell, float]
    trimmed: bool
    max_weight_ratio: float
    largest_margin_gap: float
    gap_margin: str
    gap_category: str | int


@dataclass(frozen=True, slots=True)
class OptionFigures:
    option_id: int
    votes: int
    # Of all counted ballots, as in the published results.
    raw_share: float | None
    # Of the weighted ballots; None where withheld (see ``_withheld``).
    weighted_share: float | None
    margin_of_error: float | None

    @property
    def suppressed(self) -> bool:
        return self.weighted_share is None


@dataclass(frozen=True, slots=True)
class Weighted:
    options: tuple[OptionFigures, ...]
    ballots: int
    weighted_ballots: int
    unknown_ballots: int
    outside_ballots: int
    population: float
    effective_sample_size: float
    design_effect: float
    cap: float
    trimmed: bool
    max_weight_ratio: float
    largest_margin_gap: float


def _margins(population: Mapping[Cell, float]) -> dict[str, dict[str | int, float]]:
    margins: dict[str, dict[str | int, float]] = {margin: defaultdict(float) for margin in MARGINS}
    for cell, count in population.items():
        for margin in MARGINS:
            value = cell.value(margin)
            if value is not None and count > 0:
                margins[margin][value] += count
    return {margin: dict(categories) for margin, categories in margins.items()}


def _weightipy_ratios(
    *,
    cells: Sequence[Cell],
    ballots: np.ndarray,
    margins: dict[str, dict[str | int, float]],
    cap: float,
    max_iterations: int,
) -> np.ndarray:
    """Per-ballot weights by cell, mean 1 over the ballots (weightipy weighs respondents, so each
    ballot is one row; a cell's rows all get the same weight)."""
    # Imported here: pandas and weightipy cost a web process importing this module ~45 MB.
    import pandas as pd
    import weightipy

    row_cell = np.repeat(np.arange(len(cells)), ballots)
    columns = {}
    targets: dict[str, dict[int, float]] = {}
    for margin in MARGINS:
        categories = list(margins[margin])
        code: dict[str | int | None, int] = {c: i for i, c in enumerate(categories)}
        per_cell = np.array([code[cell.value(margin)] for cell in cells])
        columns[margin] = per_cell[row_cell]
        targets[margin] = {code[c]: margins[margin][c] for c in categories}
    scheme = weightipy.scheme_from_dict(
        targets,
        name="census",
        rim_params={"max_iterations": max_iterations, "cap": cap},
    )
    # weightipy prints its progress ("Convergence did not occur…"); the gap is measured below.
    with contextlib.redirect_stdout(io.StringIO()):
        per_row = weightipy.weight(pd.DataFrame(columns), scheme).to_numpy(dtype=float)
    return np.bincount(row_cell, weights=per_row, minlength=len(cells)) / ballots


def rake(
    *, sample: Mapping[Cell, int], population: Mapping[Cell, float], policy: Policy
) -> Raking | Refusal:
    """Weights raking ``sample`` (ballots per known cell, every value a category of
    ``population``) to ``population``'s gu, age band and sex margins, capped at ``policy.cap``."""
    margins = _margins(population)
    cells = [cell for cell, n in sorted(sample.items(), key=lambda kv: repr(kv[0])) if n > 0]
    for margin in MARGINS:
        have = {cell.value(margin) for cell in cells}
        if stray := have - set(margins[margin]):
            raise ValueError(
                f"ballots outside the population's {margin}: {sorted(map(str, stray))}"
            )
        empty = [category for category in margins[margin] if category not in have]
        if empty:
            return Refusal(
                reason=RefusalReason.EMPTY_CLASS,
                ballots=sum(sample.values()),
                weightable_ballots=sum(sample.values()),
                margin=margin,
                category=sorted(empty, key=str)[0],
            )
    ballots = np.array([sample[cell] for cell in cells], dtype=np.int64)
    raked = partial(
        _weightipy_ratios,
        cells=cells,
        ballots=ballots,
        margins=margins,
        max_iterations=policy.max_iterations,
    )
    # Raked without the cap first: the cap binds only if some weight exceeds it.
    ratios = raked(cap=0)
    trimmed = bool(ratios.max() > policy.cap)
    if trimmed:
        ratios = raked(cap=policy.cap)
    total = sum(margins[MARGINS[0]].values())
    weights = ratios * total / ballots.sum()
    gap, gap_margin, gap_category = 0.0, MARGINS[0], next(iter(margins[MARGINS[0]]))
    for margin in MARGINS:
        achieved: dict[str | int | None, float] = defaultdict(float)
        for cell, n, w in zip(cells, ballots, weights, strict=True):
            achieved[cell.value(margin)] += n * w
        for category, target in margins[margin].items():
            if (off := float(abs(achieved[category] / target - 1))) > gap:
                gap, gap_margin, gap_category = off, margin, category
    if gap > policy.tolerance:
        return Refusal(
            reason=RefusalReason.MARGINS_NOT_MET,
            ballots=int(ballots.sum()),
            weightable_ballots=int(ballots.sum()),
            margin=gap_margin,
            category=gap_category,
            largest_margin_gap=gap,
            cap=policy.cap,
        )
    return Raking(
        weights=dict(zip(cells, (float(w) for w in weights), strict=True)),
        trimmed=trimmed,
        max_weight_ratio=float(ratios.max() / np.average(ratios, weights=ballots)),
        largest_margin_gap=gap,
        gap_margin=gap_margin,
        gap_category=gap_category,
    )


def kish_effective_sample_size(
    *, ballots: Mapping[Cell, int], weights: Mapping[Cell, float]
) -> float:
    """Kish's effective sample size (Σw)² / Σw² over the ballots."""
    total = sum(n * weights[cell] for cell, n in ballots.items())
    squares = sum(n * weights[cell] ** 2 for cell, n in ballots.items())
    return total * total / squares


def margin_of_error(*, share: float, effective_sample_size: float) -> float:
    """95% margin of error of a weighted share: 1.96·sqrt(p(1−p)/n_eff) (normal approximation,
    simple random sampling inflated by Kish's design effect)."""
    return Z_95 * math.sqrt(share * (1 - share) / effective_sample_size)


def _withheld(
    *, votes: Mapping[int, int], ballots: int, minimum: int, single_choice: bool
) -> set[int]:
    """Options whose weighted share is withheld: some but fewer than ``minimum`` weighted ballots
    chose it, or some but fewer than ``minimum`` did not (either way the share would weigh those
    few ballots: their cells). A share of 0 (or 1) weighs nobody and is shown. Single choice: the
    shares add up to 1, so a lone withheld one takes the smallest shown with it."""
    hidden = {o for o, n in votes.items() if 0 < n < minimum or 0 < ballots - n < minimum}
    if single_choice and len(hidden) == 1 and len(votes) > 1:
        shown = [o for o in votes if o not in hidden]
        hidden.add(min(shown, key=lambda o: (votes[o], o)))
    return hidden


def weight_results(
    *,
    sample: Mapping[Cell, CellCounts],
    population: Mapping[Cell, float] | None,
    option_ids: Sequence[int],
    multiple_choice: bool,
    policy: Policy,
) -> Weighted | Refusal:
    """Weighted shares, margins of error and Kish's figures for a poll's final counts, or why not.

    ``sample``: every counted ballot, by joint cell (unknown attributes ``None``). ``population``:
    the audience's residents per cell in the results' age bands (voting/coverage.py
    ``population_by_band``), or ``None`` where no table covers the audience.
    """
    ballots = sum(counts.ballots for counts in sample.values())
    margins = _margins(population or {})
    weightable: dict[Cell, CellCounts] = {}
    unknown = outside = 0
    for cell, counts in sample.items():
        values = [cell.value(margin) for margin in MARGINS]
        if None in values or cell.sex not in SEXES:
            unknown += counts.ballots
        elif any(v not in margins[m] for m, v in zip(MARGINS, values, strict=True)):
            outside += counts.ballots
        elif counts.ballots:
            weightable[cell] = counts
    n = ballots - unknown - outside
    if not population or not all(margins.values()):
        return Refusal(reason=RefusalReason.NO_POPULATION, ballots=ballots, weightable_ballots=n)
    if n < policy.min_ballots:
        return Refusal(
            reason=RefusalReason.TOO_FEW_BALLOTS,
            ballots=ballots,
            weightable_ballots=n,
            min_ballots=policy.min_ballots,
        )
    raking = rake(
        sample={cell: counts.ballots for cell, counts in weightable.items()},
        population=population,
        policy=policy,
    )
    if isinstance(raking, Refusal):
        return replace(raking, ballots=ballots)
    w = raking.weights
    weighted_total = sum(counts.ballots * w[cell] for cell, counts in weightable.items())
    n_eff = kish_effective_sample_size(
        ballots={cell: counts.ballots for cell, counts in weightable.items()}, weights=w
    )
    weightable_votes = {
        option: sum(counts.votes.get(option, 0) for counts in weightable.values())
        for option in option_ids
    }
    hidden = _withheld(
        votes=weightable_votes,
        ballots=n,
        minimum=policy.min_cell,
        single_choice=not multiple_choice,
    )
    figures = []
    for option in option_ids:
        votes = sum(counts.votes.get(option, 0) for counts in sample.values())
        share = None
        if option not in hidden:
            weighted = sum(counts.votes.get(option, 0) * w[c] for c, counts in weightable.items())
            share = weighted / weighted_total
        figures.append(
            OptionFigures(
                option_id=option,
                votes=votes,
                raw_share=votes / ballots if ballots else None,
                weighted_share=share,
                margin_of_error=None
                if share is None
                else margin_of_error(share=share, effective_sample_size=n_eff),
            )
        )
    return Weighted(
        options=tuple(figures),
        ballots=ballots,
        weighted_ballots=n,
        unknown_ballots=unknown,
        outside_ballots=outside,
        population=weighted_total,
        effective_sample_size=n_eff,
        design_effect=n / n_eff,
        cap=policy.cap,
        trimmed=raking.trimmed,
        max_weight_ratio=raking.max_weight_ratio,
        largest_margin_gap=raking.largest_margin_gap,
    )
