"""The weighting engine (voting/weighting.py) and coverage (voting/coverage.py), as specifications.

Pure functions on counts: no database, no poll. What an official relies on: raking reproduces a
published example and an independent computation; Kish's effective sample size and the margin of
error are the textbook formulas; weighting is refused (a value, with its reason) rather than
published skewed; shares built on a few ballots are withheld; coverage shows turnout per cell.
"""

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from voting.casting import age_band
from voting.coverage import band_of_age, coverage, population_by_band
from voting.weighting import (
    Cell,
    CellCounts,
    Policy,
    Raking,
    Refusal,
    RefusalReason,
    Weighted,
    margin_of_error,
    policy_from_settings,
    rake,
    weight_results,
)

F, M = "female", "male"


def ipf(seed: np.ndarray, margins: list[np.ndarray], *, iterations: int = 10_000) -> np.ndarray:
    """Independent raking, written from the definition (Deming & Stephan 1940): scale the fitted
    table to each margin in turn until all hold; per-ballot weight = fitted cell / sample cell."""
    fit = seed.astype(float)
    for _ in range(iterations):
        for axis, target in enumerate(margins):
            other = tuple(i for i in range(seed.ndim) if i != axis)
            current = fit.sum(axis=other)
            shape = [1] * seed.ndim
            shape[axis] = -1
            fit *= (target / current).reshape(shape)
        if all(
            np.allclose(fit.sum(axis=tuple(i for i in range(seed.ndim) if i != a)), t, rtol=1e-13)
            for a, t in enumerate(margins)
        ):
            break
    return np.divide(fit, seed, out=np.zeros_like(fit), where=seed > 0)


def achieved_margins(sample: dict[Cell, int], weights) -> dict[tuple[str, object], float]:
    out: dict[tuple[str, object], float] = {}
    for cell, n in sample.items():
        for margin in ("gu", "age_band", "sex"):
            key = (margin, cell.value(margin))
            out[key] = out.get(key, 0.0) + n * weights[cell]
    return out


# --- Raking --------------------------------------------------------------------------------------


# Kalton & Flores-Cervantes (2003), "Weighting Methods", Journal of Official Statistics 19(2):81-97,
# Table B (raking), as reproduced by the R package survey's tests/kalton.R / kalton.Rout.save
# (cran/survey @ 014e4dba41e1a0834234ea502335bb4d5383068f). Classes a (4) × b (3); a is the gu
# here, b the age band, and everyone is female (a one-class margin leaves raking unchanged).
KALTON_SAMPLE = [[20, 40, 40], [50, 140, 310], [100, 50, 50], [30, 100, 70]]  # [a][b], n = 1000
KALTON_POPULATION = [[80, 40, 55], [60, 150, 340], [170, 60, 200], [55, 165, 125]]  # N = 1500
KALTON_TABLE_B = [[1.81, 1.45, 2.02], [1.08, 0.87, 1.21], [2.20, 1.76, 2.45], [1.83, 1.47, 2.04]]


def kalton_cell(a: int, b: int) -> Cell:
    return Cell(f"a{a + 1}", 10 * (b + 1), F)


def test_raking_reproduces_kalton_and_flores_cervantes_table_b():
    sample = {kalton_cell(a, b): KALTON_SAMPLE[a][b] for a in range(4) for b in range(3)}
    population = {kalton_cell(a, b): KALTON_POPULATION[a][b] for a in range(4) for b in range(3)}

    raking = rake(sample=sample, population=population, policy=Policy(cap=5.0))

    assert isinstance(raking, Raking)
    weights = [[round(raking.weights[kalton_cell(a, b)], 2) for b in range(3)] for a in range(4)]
    assert weights == KALTON_TABLE_B
    assert raking.trimmed is False  # largest weight 2.45 / mean 1.5 = 1.6, under the cap


def test_raking_agrees_with_an_independent_computation_on_three_margins():
    rng = np.random.default_rng(18)
    gus, bands, sexes = [f"11{i:02d}" for i in range(6)], [20, 30, 40, 50, 60], [F, M]
    seed = rng.integers(1, 60, size=(6, 5, 2))
    seed[rng.random(seed.shape) < 0.1] = 0  # some joint cells empty: raking needs only margins
    population = rng.integers(2_000, 60_000, size=(6, 5, 2)).astype(float)
    cells = {
        (i, j, k): Cell(gus[i], bands[j], sexes[k])
        for i in range(6)
        for j in range(5)
        for k in range(2)
    }

    raking = rake(
        sample={cell: int(seed[idx]) for idx, cell in cells.items()},
        population={cell: population[idx] for idx, cell in cells.items()},
        policy=Policy(cap=1_000.0),
    )

    assert isinstance(raking, Raking)
    expected = ipf(seed, [population.sum(axis=(1, 2)), population.sum(axis=(0, 2)),
                          population.sum(axis=(0, 1))])  # fmt: skip
    for idx, cell in cells.items():
        if seed[idx]:
            assert raking.weights[cell] == pytest.approx(expected[idx], rel=1e-6)
        else:
            assert cell not in raking.weights


# Two gu, one age band, one sex: gu A's 100 ballots stand for 100 residents (weight 1), gu B's
# 100 for 300 (weight 3). Kish by hand: (100·1 + 100·3)² / (100·1² + 100·3²) = 160000 / 1000 = 160.
A, B = Cell("A", 20, F), Cell("B", 20, F)
TWO_GU_POPULATION = {A: 100, B: 300}


def two_gu(votes_a: dict[int, int], votes_b: dict[int, int]) -> dict[Cell, CellCounts]:
    return {A: CellCounts(100, votes_a), B: CellCounts(100, votes_b)}


def test_kish_effective_sample_size_and_design_effect_match_the_hand_computation():
    result = weight_results(
        sample=two_gu({1: 60, 2: 40}, {1: 30, 2: 70}),
        population=TWO_GU_POPULATION,
        option_ids=[1, 2],
        multiple_choice=False,
        policy=Policy(),
    )

    assert isinstance(result, Weighted)
    assert result.effective_sample_size == pytest.approx(160)
    assert result.design_effect == pytest.approx(200 / 160)
    assert result.weighted_ballots == 200
    assert result.population == pytest.approx(400)


def test_weighted_shares_and_their_margin_of_error_follow_the_formula():
    result = weight_results(
        sample=two_gu({1: 60, 2: 40}, {1: 30, 2: 70}),
        population=TWO_GU_POPULATION,
        option_ids=[1, 2],
        multiple_choice=False,
        policy=Policy(),
    )

    assert isinstance(result, Weighted)
    first, second = result.options
    # Raw: 90 of 200. Weighted: (60·1 + 30·3) / 400 = 0.375.
    assert (first.votes, first.raw_share) == (90, 0.45)
    assert first.weighted_share == pytest.approx(0.375)
    assert second.weighted_share == pytest.approx(0.625)
    # 1.96 · sqrt(0.375 · 0.625 / 160) = 0.07502
    assert first.margin_of_error == pytest.approx(0.07502, abs=1e-5)
    assert second.margin_of_error == pytest.approx(first.margin_of_error)
    assert margin_of_error(share=0.5, effective_sample_size=100) == pytest.approx(0.098)


def test_multiple_choice_shares_are_of_ballots_and_may_add_up_to_more_than_one():
    result = weight_results(
        sample=two_gu({1: 60, 2: 50}, {1: 30, 2: 80}),
        population=TWO_GU_POPULATION,
        option_ids=[1, 2],
        multiple_choice=True,
        policy=Policy(),
    )

    assert isinstance(result, Weighted)
    shares = [option.weighted_share for option in result.options]
    # (60·1 + 30·3) / 400 and (50·1 + 80·3) / 400
    assert shares == [pytest.approx(0.375), pytest.approx(0.725)]
    assert [option.raw_share for option in result.options] == [0.45, 0.65]


def test_ballots_of_unknown_or_outside_cells_count_raw_but_not_weighted():
    plain = weight_results(
        sample=two_gu({1: 60, 2: 40}, {1: 30, 2: 70}),
        population=TWO_GU_POPULATION,
        option_ids=[1, 2],
        multiple_choice=False,
        policy=Policy(),
    )
    result = weight_results(
        sample=two_gu({1: 60, 2: 40}, {1: 30, 2: 70})
        | {
            Cell(None, 20, F): CellCounts(7, {1: 7}),  # no residence
            Cell("A", 20, "other"): CellCounts(5, {1: 5}),  # a gender the registry lacks
            Cell("A", None, F): CellCounts(3, {1: 3}),  # no birth year
            Cell("Z", 20, F): CellCounts(6, {1: 6}),  # a gu outside the audience's table
            Cell("A", 20, M): CellCounts(4, {1: 4}),  # the population here has no men
        },
        population=TWO_GU_POPULATION,
        option_ids=[1, 2],
        multiple_choice=False,
        policy=Policy(),
    )

    assert isinstance(plain, Weighted) and isinstance(result, Weighted)
    assert (result.ballots, result.weighted_ballots) == (225, 200)
    assert (result.unknown_ballots, result.outside_ballots) == (15, 10)
    assert result.options[0].raw_share == pytest.approx(115 / 225)
    assert result.options[0].weighted_share == pytest.approx(plain.options[0].weighted_share)
    assert result.effective_sample_size == pytest.approx(plain.effective_sample_size)


# --- The cap -------------------------------------------------------------------------------------

# Two gu × two sexes, 500 residents in each gu and each sex, 200 ballots: few from gu A, few
# women, fewest of all from A's women, whom raking alone weighs 6.7 times the mean. Weights
# under a cap of 3 still meet the margins: A's women at 3 × 5, A's men and B's women at 9.44,
# B's men at 0.71 (5·15 + 45·9.44 = 500 for gu A and for women; 45·9.44 + 105·0.71 = 500 for men).
CAP_SAMPLE = {
    Cell("A", 20, F): 5,
    Cell("A", 20, M): 45,
    Cell("B", 20, F): 45,
    Cell("B", 20, M): 105,
}
CAP_POPULATION = dict.fromkeys(CAP_SAMPLE, 250)


def test_a_binding_cap_keeps_every_weight_under_it_and_still_meets_the_margins():
    free = rake(sample=CAP_SAMPLE, population=CAP_POPULATION, policy=Policy(cap=100.0))
    capped = rake(sample=CAP_SAMPLE, population=CAP_POPULATION, policy=Policy(cap=3.0))

    assert isinstance(free, Raking) and isinstance(capped, Raking)
    assert free.trimmed is False and free.max_weight_ratio > 3.5
    assert capped.trimmed is True
    assert capped.max_weight_ratio <= 3.0 + 1e-3
    margins = achieved_margins(CAP_SAMPLE, capped.weights)
    for key in [("gu", "A"), ("gu", "B"), ("sex", F), ("sex", M)]:
        assert margins[key] == pytest.approx(500, rel=Policy().tolerance)
    assert capped.largest_margin_gap <= Policy().tolerance


def test_weighting_is_refused_when_the_cap_cannot_meet_the_margins():
    # Gu A has 90% of the residents and 5% of the ballots: each would need 18 times the mean.
    sample = {Cell("A", 20, F): CellCounts(10, {1: 10}), Cell("B", 20, F): CellCounts(190, {1: 90})}
    result = weight_results(
        sample=sample,
        population={Cell("A", 20, F): 900, Cell("B", 20, F): 100},
        option_ids=[1],
        multiple_choice=False,
        policy=Policy(cap=5.0),
    )

    assert isinstance(result, Refusal)
    assert result.reason == RefusalReason.MARGINS_NOT_MET
    assert result.margin == "gu"
    assert result.largest_margin_gap is not None and result.largest_margin_gap > 0.3
    assert result.cap == 5.0
    assert "5.0" in result.detail


def test_the_cap_refuses_a_gap_of_two_percent_and_weights_once_raised_to_what_is_needed():
    # Gu A: 51% of the residents, 10% of the ballots — each must weigh 5.1 times the mean.
    sample = {A: CellCounts(20, {1: 10}), B: CellCounts(180, {1: 90})}
    population = {A: 510, B: 490}

    def result(cap: float):
        return weight_results(
            sample=sample,
            population=population,
            option_ids=[1],
            multiple_choice=False,
            policy=Policy(cap=cap),
        )

    refused = result(5.0)
    assert isinstance(refused, Refusal)
    assert refused.reason == RefusalReason.MARGINS_NOT_MET
    assert refused.largest_margin_gap == pytest.approx(0.02, abs=0.005)
    weighted = result(5.2)
    assert isinstance(weighted, Weighted)
    assert weighted.trimmed is False
    assert weighted.max_weight_ratio == pytest.approx(5.1)


# --- Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("population", [None, {}, {A: 0, B: 0}])
def test_weighting_is_refused_without_a_population_for_the_audience(population):
    result = weight_results(
        sample=two_gu({1: 60}, {1: 30}),
        population=population,
        option_ids=[1],
        multiple_choice=False,
        policy=Policy(),
    )

    assert isinstance(result, Refusal)
    assert result.reason == RefusalReason.NO_POPULATION
    assert result.detail


def test_weighting_is_refused_below_the_minimum_of_weightable_ballots():
    def result(weightable_b: int):
        return weight_results(
            sample={
                A: CellCounts(50, {1: 50}),
                B: CellCounts(weightable_b, {1: weightable_b}),
                Cell(None, None, None): CellCounts(80, {1: 80}),  # not weightable
            },
            population=TWO_GU_POPULATION,
            option_ids=[1],
            multiple_choice=False,
            policy=Policy(min_ballots=100),
        )

    refused = result(49)
    assert isinstance(refused, Refusal)
    assert refused.reason == RefusalReason.TOO_FEW_BALLOTS
    assert (refused.ballots, refused.weightable_ballots, refused.min_ballots) == (179, 99, 100)
    assert "99" in refused.detail and "100" in refused.detail
    assert isinstance(result(50), Weighted)


@pytest.mark.parametrize(
    ("empty", "margin", "category"),
    [
        (Cell("C", 20, F), "gu", "C"),
        (Cell("A", 30, F), "age_band", 30),
        (Cell("B", 20, M), "sex", M),
    ],
)
def test_weighting_is_refused_where_a_class_with_residents_has_no_ballot(empty, margin, category):
    result = weight_results(
        sample=two_gu({1: 60}, {1: 30}),
        population=TWO_GU_POPULATION | {empty: 50},
        option_ids=[1],
        multiple_choice=False,
        policy=Policy(),
    )

    assert isinstance(result, Refusal)
    assert (result.reason, result.margin, result.category) == (
        RefusalReason.EMPTY_CLASS,
        margin,
        category,
    )
    assert (result.ballots, result.weightable_ballots) == (200, 200)
    assert str(category) in result.detail


# --- Suppression ---------------------------------------------------------------------------------


def shares(votes_a: dict[int, int], votes_b: dict[int, int], *, multiple_choice: bool = False):
    result = weight_results(
        sample=two_gu(votes_a, votes_b),
        population=TWO_GU_POPULATION,
        option_ids=sorted(votes_a.keys() | votes_b.keys()),
        multiple_choice=multiple_choice,
        policy=Policy(min_cell=5),
    )
    assert isinstance(result, Weighted)
    return {o.option_id: (o.weighted_share, o.margin_of_error) for o in result.options}


def test_a_weighted_share_on_fewer_than_the_minimum_of_ballots_is_withheld_with_the_next_smallest():
    few = shares({1: 50, 2: 48, 3: 2}, {1: 50, 2: 48, 3: 2})  # option 3: 4 ballots

    assert few[3] == (None, None)
    # The shares add up to 1: option 3's would be 1 minus the others', so option 2 goes too.
    assert few[2] == (None, None)
    assert few[1][0] == pytest.approx(0.5)

    enough = shares({1: 50, 2: 47, 3: 3}, {1: 50, 2: 48, 3: 2})  # option 3: 5 ballots
    assert all(share is not None for share, _ in enough.values())


def test_a_share_of_nobody_is_shown_and_withholds_nothing():
    none = shares({1: 50, 2: 50, 3: 0}, {1: 50, 2: 50, 3: 0})

    assert none[3] == (0.0, 0.0)
    assert none[1][0] == pytest.approx(0.5) and none[2][0] == pytest.approx(0.5)


def test_a_multiple_choice_share_is_withheld_where_fewer_than_the_minimum_did_not_choose_it():
    almost_all = shares({1: 99, 2: 30}, {1: 98, 2: 40}, multiple_choice=True)  # 3 did not pick 1

    assert almost_all[1] == (None, None)
    assert almost_all[2][0] is not None  # no sum ties the shares of multiple choice


# --- Properties -----------------------------------------------------------------------------------

CELLS = [Cell(gu, band, sex) for gu in ("A", "B") for band in (20, 60) for sex in (F, M)]
votes_st = st.tuples(*(st.integers(0, 40) for _ in range(3))).filter(lambda v: sum(v) > 0)


@hypothesis_settings(max_examples=30, deadline=None)
@given(
    votes=st.lists(votes_st, min_size=len(CELLS), max_size=len(CELLS)),
    residents=st.lists(st.integers(100, 100_000), min_size=len(CELLS), max_size=len(CELLS)),
    per_ballot=st.integers(1, 500),
)
def test_single_choice_weighted_shares_add_up_to_one_and_equal_raw_ones_under_equal_weights(
    votes, residents, per_ballot
):
    sample = {
        cell: CellCounts(sum(v), {i + 1: n for i, n in enumerate(v)})
        for cell, v in zip(CELLS, votes, strict=True)
    }
    policy = Policy(cap=1e9, min_ballots=1, min_cell=0)
    raked = weight_results(
        sample=sample,
        population=dict(zip(CELLS, residents, strict=True)),
        option_ids=[1, 2, 3],
        multiple_choice=False,
        policy=policy,
    )
    # Residents proportional to the ballots in every cell: every weight is the same.
    equal = weight_results(
        sample=sample,
        population={cell: per_ballot * counts.ballots for cell, counts in sample.items()},
        option_ids=[1, 2, 3],
        multiple_choice=False,
        policy=policy,
    )

    assert isinstance(raked, Weighted) and isinstance(equal, Weighted)
    assert sum(o.weighted_share or 0.0 for o in raked.options) == pytest.approx(1.0)
    for option in equal.options:
        assert option.weighted_share == pytest.approx(option.raw_share, abs=1e-9)
    assert equal.design_effect == pytest.approx(1.0)


# --- Population and coverage ----------------------------------------------------------------------


def test_the_age_bands_are_the_results_bands():
    today = date(2026, 6, 30)
    for age in range(121):
        assert band_of_age(age) == age_band(today.year - age, today)


def test_population_is_summed_into_the_results_bands_and_prorated_at_the_audience_limits():
    cells = {
        ("A", 15, F): 500,
        ("A", 20, F): 1000,
        ("A", 25, F): 800,
        ("A", 80, M): 100,
        ("A", 95, M): 20,
        ("A", 100, M): 10,
    }

    assert population_by_band(cells=cells) == {
        Cell("A", 10, F): 500,
        Cell("A", 20, F): 1800,
        Cell("A", 80, M): 130,
    }
    # Ages 18–82: two of the five years of 15–19, three of 80–84.
    assert population_by_band(cells=cells, min_age=18, max_age=82) == {
        Cell("A", 10, F): 200,
        Cell("A", 20, F): 1800,
        Cell("A", 80, M): 60,
    }


COVERAGE_POPULATION = {
    Cell("A", 20, F): 1000, Cell("A", 20, M): 1000, Cell("A", 70, F): 500, Cell("A", 70, M): 500,
    Cell("B", 20, F): 2000, Cell("B", 20, M): 2000, Cell("B", 70, F): 1000, Cell("B", 70, M): 1000,
}  # fmt: skip
COVERAGE_PARTICIPANTS = {
    Cell("A", 20, F): 60, Cell("A", 20, M): 40, Cell("A", 70, F): 3, Cell("A", 70, M): 0,
    Cell("B", 20, F): 100, Cell("B", 20, M): 80, Cell("B", 70, F): 10, Cell("B", 70, M): 4,
    Cell(None, 20, F): 12, Cell("A", 20, "other"): 1,
}  # fmt: skip


def rows(coverage_rows):
    return {row.value: (row.population, row.participants, row.turnout) for row in coverage_rows}


def test_coverage_shows_turnout_per_gu_age_band_and_sex():
    result = coverage(
        participants=COVERAGE_PARTICIPANTS,
        population=COVERAGE_POPULATION,
        registered=1200,
        minimum=10,
    )

    assert (result.population, result.registered, result.participants) == (9000, 1200, 310)
    assert result.turnout == pytest.approx(310 / 9000)
    assert result.registered_share == pytest.approx(1200 / 9000)
    assert result.turnout_of_registered == pytest.approx(310 / 1200)
    assert rows(result.gu) == {
        "A": (3000, 104, pytest.approx(104 / 3000)),
        "B": (6000, 194, pytest.approx(194 / 6000)),
        None: (None, 12, None),
    }
    # The digital divide: the over-70s' turnout is a tenth of the twenties'.
    assert rows(result.age_band) == {
        20: (6000, 293, pytest.approx(293 / 6000)),
        70: (3000, 17, pytest.approx(17 / 3000)),
        None: (None, 0, None),
    }


def test_coverage_withholds_small_counts_and_what_would_give_them_away():
    result = coverage(
        participants=COVERAGE_PARTICIPANTS,
        population=COVERAGE_POPULATION,
        registered=None,
        minimum=10,
    )

    # One citizen of gender "other": withheld, and men's count with it (the rows add up to 310).
    assert rows(result.sex) == {
        F: (4500, 185, pytest.approx(185 / 4500)),
        M: (4500, None, None),
        None: (None, None, None),
    }
    assert result.registered_share is None and result.turnout_of_registered is None

    tiny = coverage(
        participants={Cell("A", 20, F): 9},
        population=COVERAGE_POPULATION,
        registered=100,
        minimum=10,
    )
    assert tiny.participants is None and tiny.turnout is None
    assert all(row.suppressed for row in tiny.gu + tiny.age_band + tiny.sex)


def test_the_policy_comes_from_the_settings(settings):
    settings.WEIGHTING_CAP = 4.0
    settings.WEIGHTING_TOLERANCE = 0.01
    settings.WEIGHTING_MIN_BALLOTS = 250
    settings.RESULTS_MIN_CELL = 7

    assert policy_from_settings() == Policy(cap=4.0, tolerance=0.01, min_ballots=250, min_cell=7)
