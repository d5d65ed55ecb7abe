"""The evidence stored at a poll's final count: weighted shares, margins of error and coverage.

``evidence.document`` is fed hand-made samples (ballots per joint cell, as the counter's sealed
accumulator holds them) against population tables written here, with figures worked out by hand;
``for_results`` is what the results document shows. The adversary: a weighted figure or a
coverage row that gives away a handful of voters, a joint cell that outlives the count, and
figures weighted to a population the audience is not.
"""

import json
from datetime import date

import pytest

from districts.models import PopulationCell, PopulationTable
from districts.population import SHIPPED_FILE, import_population
from tests.ballot_box import cast_many, close_and_count, count_now
from tests.district_codes import GANGNAM, JONGNO, MAPO, SAJIK, SINSA
from tests.factories import CitizenFactory, GroupFactory, PollFactory, born
from tests.openapi_strict import load_schema, strict_schema, validate_response
from voting import evidence
from voting.models import CountState
from voting.weighting import Cell, CellCounts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

K = 10
FEMALE, MALE = "female", "male"
CELLS = [(gu, band, sex) for gu in (JONGNO, GANGNAM) for band in (30, 50) for sex in (FEMALE, MALE)]


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.RESULTS_MIN_CELL = 5
    settings.WEIGHTING_MIN_BALLOTS = 100
    settings.WEIGHTING_CAP = 5.0


def population_table(
    *, gus=(JONGNO, GANGNAM), per_band: int = 500, demo: bool = True, day: int = 30
) -> PopulationTable:
    """1,000 residents in every gu × decade (30s, 50s) × sex: 500 in each 5-year band."""
    table = PopulationTable.objects.create(
        reference_date=date(2026, 6, day), source="시험용 인구표 / test table", is_demo=demo
    )
    PopulationCell.objects.bulk_create(
        PopulationCell(table=table, district_id=gu, sex=sex, age_from=age, population=per_band)
        for gu in gus
        for sex in (FEMALE, MALE)
        for age in (30, 35, 50, 55)
    )
    return table


def spread(poll, a_per_cell: dict[str, list[int]], ballots_per_cell: dict[str, int]) -> dict:
    """Each gu's four cells with ``ballots_per_cell[gu]`` ballots, ``a_per_cell[gu][i]`` of them
    for the poll's first option and the rest for its second."""
    first, second = (option.pk for option in poll.options.all()[:2])
    sample = {}
    for gu in (JONGNO, GANGNAM):
        for i, (band, sex) in enumerate((b, s) for b in (30, 50) for s in (FEMALE, MALE)):
            n, a = ballots_per_cell[gu], a_per_cell[gu][i]
            sample[Cell(gu, band, sex)] = CellCounts(ballots=n, votes={first: a, second: n - a})
    return sample


@pytest.fixture
def poll():
    return PollFactory(options=["찬성", "반대"], districts=[JONGNO, GANGNAM])


@pytest.fixture
def lopsided(poll):
    """300 ballots: 종로구 200 (150 for 찬성), 강남구 100 (25 for 찬성); 1,000 residents a cell.
    Raking gives 종로구's ballots weight 20 and 강남구's 40 (every other margin already fits)."""
    return spread(
        poll,
        {JONGNO: [38, 38, 37, 37], GANGNAM: [7, 6, 6, 6]},
        {JONGNO: 50, GANGNAM: 25},
    )


def assert_no_joint_cell(stored: dict) -> None:
    """No row of ``stored`` names more than one attribute's value (a gu, an age band or a sex):
    a gu × age × sex cell would be one voter's neighbourhood, age and sex together."""

    def rows(node) -> list[dict]:
        if isinstance(node, dict):
            return [node, *(row for value in node.values() for row in rows(value))]
        if isinstance(node, list):
            return [row for value in node for row in rows(value)]
        return []

    attributes = {"code", "gu", "band", "age_band", "sex"}
    for row in rows(stored):
        named = [key for key in attributes & set(row) if not isinstance(row[key], list | dict)]
        assert len(named) <= 1, row
    assert "|" not in json.dumps(stored)  # the accumulator's joint keys look like "gu|band|sex"


def english(stored: dict) -> dict:
    return evidence.for_results(stored, content_language="en")


def test_a_lopsided_sample_is_weighted_to_the_population_with_its_margin_of_error(poll, lopsided):
    population_table()
    yes, no = poll.options.all()

    stored = evidence.document(poll=poll, sample=lopsided)

    assert stored["status"] == "weighted" and stored["refusal"] is None
    weighted = stored["weighted"]
    # 찬성: raw 175/300; weighted (150·20 + 25·40) / 8,000 = 0.5.
    # n_eff = 8,000² / (200·20² + 100·40²) = 266.7; design effect 300 / 266.7 = 1.125;
    # margin 1.96·√(0.25 / 266.7) = 0.0600.
    assert weighted["options"] == [
        {"id": yes.pk, "raw_share": 0.5833, "weighted_share": 0.5, "margin_of_error": 0.06},
        {"id": no.pk, "raw_share": 0.4167, "weighted_share": 0.5, "margin_of_error": 0.06},
    ]
    assert (weighted["effective_sample_size"], weighted["design_effect"]) == (266.7, 1.125)
    assert (weighted["ballots"], weighted["weighted_ballots"]) == (300, 300)
    assert (weighted["unknown_ballots"], weighted["outside_ballots"]) == (0, 0)
    assert (weighted["cap"], weighted["trimmed"]) == (5.0, False)
    assert stored["population_source"] == {
        "title": "시험용 인구표 / test table",
        "reference_date": "2026-06-30",
        "demo": True,
    }


def test_coverage_gives_turnout_against_residents_and_registered_citizens(poll, lopsided):
    population_table()
    for district in (SAJIK, SINSA, JONGNO):
        CitizenFactory(district_id=district, birth_year=born(40))
    CitizenFactory(district_id=MAPO, birth_year=born(40))  # outside the audience

    found = english(evidence.document(poll=poll, sample=lopsided))["coverage"]

    assert (found["population"], found["participants"], found["turnout"]) == (8000, 300, 0.0375)
    assert (found["registered"], found["registered_share"]) == (3, 3 / 8000)
    assert found["turnout_of_registered"] == 100.0  # the test's voters never registered
    assert found["gu"] == [
        {"code": JONGNO, "name": "Jongno-gu", "population": 4000, "participants": 200,
         "turnout": 0.05},
        {"code": GANGNAM, "name": "Gangnam-gu", "population": 4000, "participants": 100,
         "turnout": 0.025},
        {"code": None, "name": "unknown", "population": None, "participants": 0,
         "turnout": None},
    ]  # fmt: skip
    assert [(r["band"], r["label"], r["participants"]) for r in found["age_band"]] == [
        (30, "30s", 150),
        (50, "50s", 150),
        (None, "unknown", 0),
    ]
    assert [(r["sex"], r["population"], r["participants"]) for r in found["sex"]] == [
        (FEMALE, 4000, 150),
        (MALE, 4000, 150),
        (None, None, 0),
    ]


def test_unknown_and_outside_ballots_count_in_the_raw_shares_only(poll, lopsided):
    population_table()
    yes = poll.options.first()
    sample = {
        **lopsided,
        Cell(None, 30, FEMALE): CellCounts(ballots=6, votes={yes.pk: 6}),
        Cell(JONGNO, 30, "other"): CellCounts(ballots=2, votes={yes.pk: 2}),
        Cell(JONGNO, 70, MALE): CellCounts(ballots=4, votes={yes.pk: 4}),  # no 70s in the table
    }

    weighted = evidence.document(poll=poll, sample=sample)["weighted"]

    assert (weighted["ballots"], weighted["weighted_ballots"]) == (312, 300)
    assert (weighted["unknown_ballots"], weighted["outside_ballots"]) == (8, 4)
    assert weighted["options"][0]["raw_share"] == round(187 / 312, 4)
    assert weighted["options"][0]["weighted_share"] == 0.5


def test_a_weighted_share_is_withheld_where_fewer_than_the_minimum_chose_it():
    """3 ballots for 기권 (below RESULTS_MIN_CELL): its weighted share would weigh those three
    voters' cells, so it is withheld — and, a single choice adding up to 1, the next smallest
    share with it. The raw shares stay: the published totals already show them."""
    poll = PollFactory(options=["찬성", "반대", "기권"], districts=[JONGNO, GANGNAM])
    population_table()
    yes, no, abstain = poll.options.all()
    sample = spread(
        poll, {JONGNO: [38, 38, 37, 37], GANGNAM: [7, 6, 6, 6]}, {JONGNO: 50, GANGNAM: 25}
    )
    cell = Cell(GANGNAM, 50, MALE)
    sample[cell] = CellCounts(ballots=25, votes={yes.pk: 6, no.pk: 16, abstain.pk: 3})

    options = evidence.document(poll=poll, sample=sample)["weighted"]["options"]

    by_id = {o["id"]: o for o in options}
    assert by_id[abstain.pk]["raw_share"] == 0.01
    assert (by_id[abstain.pk]["weighted_share"], by_id[abstain.pk]["margin_of_error"]) == (
        None,
        None,
    )
    # 반대 (122 ballots) is the smaller of the others (찬성: 175): 1 − 찬성 − 반대 would be 기권's.
    assert by_id[no.pk]["weighted_share"] is None
    assert by_id[yes.pk]["weighted_share"] is not None


def test_a_coverage_row_below_k_is_withheld_with_the_next_smallest(poll, lopsided):
    population_table()
    sample = {**lopsided, Cell(None, None, None): CellCounts(ballots=3)}

    found = english(evidence.document(poll=poll, sample=sample))["coverage"]

    # The unknown row (3) is below k; 강남구 (100) goes with it, else 303 − 200 would give it.
    assert [(r["code"], r["participants"], r["turnout"]) for r in found["gu"]] == [
        (JONGNO, 200, 0.05),
        (GANGNAM, None, None),
        (None, None, None),
    ]
    assert found["participants"] == 303


def test_hidden_coverage_rows_never_leave_a_remainder_below_k(poll):
    """종로구 200, 강남구 3, unknown residence 4: coverage alone would hide the two small rows and
    show 종로구, so the total minus 종로구 would give their sum, 7 ballots, a group below k. The
    breakdown's rule hides 종로구 too."""
    population_table()
    yes = poll.options.first()
    sample = {
        Cell(JONGNO, 30, FEMALE): CellCounts(ballots=200, votes={yes.pk: 200}),
        Cell(GANGNAM, 30, FEMALE): CellCounts(ballots=3, votes={yes.pk: 3}),
        Cell(None, 30, FEMALE): CellCounts(ballots=4, votes={yes.pk: 4}),
    }

    found = evidence.document(poll=poll, sample=sample)["coverage"]

    assert found["participants"] == 207
    assert [row["participants"] for row in found["gu"]] == [None, None, None]


def test_the_stored_document_holds_no_joint_cell_and_is_plain_json(poll, lopsided):
    population_table()

    stored = evidence.document(poll=poll, sample=lopsided)

    assert json.loads(json.dumps(stored)) == stored

    assert_no_joint_cell(stored)
    assert "|" not in json.dumps(stored)  # the accumulator's joint keys look like "gu|band|sex"


def test_ranked_polls_are_weighted_on_first_preferences():
    poll = PollFactory(
        kind="ranked",
        min_choices=1,
        max_choices=2,
        options=["가", "나"],
        districts=[JONGNO, GANGNAM],
    )
    population_table()
    sample = spread(
        poll, {JONGNO: [38, 38, 37, 37], GANGNAM: [7, 6, 6, 6]}, {JONGNO: 50, GANGNAM: 25}
    )

    stored = evidence.document(poll=poll, sample=sample)

    assert stored["status"] == "weighted"
    assert [o["weighted_share"] for o in stored["weighted"]["options"]] == [0.5, 0.5]


def test_multiple_choice_shares_are_of_ballots_and_may_add_up_past_one():
    poll = PollFactory(
        kind="multiple",
        min_choices=1,
        max_choices=2,
        options=["가", "나"],
        districts=[JONGNO, GANGNAM],
    )
    population_table()
    a, b = (option.pk for option in poll.options.all())
    sample = {
        Cell(gu, band, sex): CellCounts(ballots=40, votes={a: 30, b: 20}) for gu, band, sex in CELLS
    }

    options = evidence.document(poll=poll, sample=sample)["weighted"]["options"]

    assert [o["weighted_share"] for o in options] == [0.75, 0.5]


def test_score_polls_are_not_weighted_but_get_their_coverage(lopsided):
    poll = PollFactory(kind="score", options=["가", "나"], districts=[JONGNO, GANGNAM])
    population_table()

    shown = english(evidence.document(poll=poll, sample=lopsided))

    assert (shown["status"], shown["weighted"], shown["refusal"]) == ("not_applicable", None, None)
    assert shown["coverage"]["participants"] == 300


def refusal_of(poll, sample) -> dict:
    shown = english(evidence.document(poll=poll, sample=sample))
    assert shown["status"] == "refused" and shown["weighted"] is None
    return shown["refusal"]


def test_without_a_population_table_weighting_is_refused(poll, lopsided):
    refusal = refusal_of(poll, lopsided)

    assert refusal == {
        "reason": "no_population",
        "detail": "No population table has been imported, so the results cannot be weighted "
        "to the audience's population.",
    }


def test_a_dong_audience_is_refused_since_the_tables_count_by_gu(lopsided):
    poll = PollFactory(districts=[SAJIK])
    population_table()

    stored = evidence.document(poll=poll, sample=lopsided)
    refusal = english(stored)["refusal"]

    assert refusal["reason"] == "no_population"
    assert "set by dong (Sajik-dong)" in refusal["detail"]
    assert "by gu only" in refusal["detail"]
    assert stored["coverage"] is None  # no turnout against residents of the wrong area


def test_a_dong_inside_a_chosen_gu_adds_nothing_to_the_audience():
    poll = PollFactory(options=["찬성", "반대"], districts=[JONGNO, SAJIK, GANGNAM])
    population_table()
    sample = spread(
        poll, {JONGNO: [38, 38, 37, 37], GANGNAM: [7, 6, 6, 6]}, {JONGNO: 50, GANGNAM: 25}
    )

    assert evidence.document(poll=poll, sample=sample)["status"] == "weighted"


def test_a_group_audience_is_refused(lopsided):
    poll = PollFactory(districts=[JONGNO, GANGNAM], groups=[GroupFactory()])
    population_table()

    refusal = refusal_of(poll, lopsided)

    assert refusal["reason"] == "no_population" and "citizen groups" in refusal["detail"]


def test_a_table_without_one_of_the_audiences_gu_is_refused(poll, lopsided):
    population_table(gus=(JONGNO,))

    refusal = refusal_of(poll, lopsided)

    assert "no residents for Gangnam-gu" in refusal["detail"]


def test_the_latest_table_is_the_one_used(poll, lopsided):
    population_table(gus=(JONGNO,), day=1)
    population_table(day=30, demo=False)

    stored = evidence.document(poll=poll, sample=lopsided)

    assert stored["status"] == "weighted"
    assert stored["population_source"]["reference_date"] == "2026-06-30"
    assert stored["population_source"]["demo"] is False


def test_too_few_ballots_are_not_weighted(poll):
    population_table()
    sample = spread(poll, {JONGNO: [5, 5, 5, 5], GANGNAM: [5, 5, 5, 5]}, {JONGNO: 10, GANGNAM: 10})

    refusal = refusal_of(poll, sample)

    assert refusal == {
        "reason": "too_few_ballots",
        "detail": "Only 80 ballots can be weighted; at least 100 are needed.",
    }


def test_a_poll_with_nothing_counted_says_so_and_shows_no_participants(poll):
    population_table()

    shown = english(evidence.document(poll=poll, sample={}))

    assert shown["refusal"]["detail"] == "No ballots were counted, so there is nothing to weight."
    assert shown["coverage"]["participants"] is None
    assert all(row["participants"] is None for row in shown["coverage"]["gu"])


def test_a_class_with_residents_and_no_ballot_is_refused_by_name(poll, lopsided):
    population_table()
    sample = {cell: counts for cell, counts in lopsided.items() if cell.age_band != 50}

    refusal = refusal_of(poll, sample)

    assert refusal == {
        "reason": "empty_class",
        "detail": "No ballot from age band 50s, which has residents.",
    }
    korean = evidence.for_results(
        evidence.document(poll=poll, sample=sample), content_language="ko"
    )
    assert korean["refusal"]["reason"] == "empty_class"


def test_a_sample_the_cap_cannot_correct_is_refused_with_the_gap(poll):
    """강남구: 8 ballots for 4,000 residents beside 종로구's 200: each would weigh 500 against
    종로구's 20, far past the cap (5 × the mean); capped, 강남구 stays 62 % short."""
    population_table()
    sample = spread(poll, {JONGNO: [25] * 4, GANGNAM: [1] * 4}, {JONGNO: 50, GANGNAM: 2})

    refusal = refusal_of(poll, sample)

    assert refusal["reason"] == "margins_not_met"
    assert refusal["detail"] == (
        "Under the weight cap (5.0× the mean) the population is matched only to within 61.5% "
        "(gu Gangnam-gu)."
    )


def test_age_limits_prorate_the_bands_they_cut(lopsided):
    """Ages 33–59: the 30–34 band keeps 2 of its 5 years (200 of 500), 50–59 whole."""
    poll = PollFactory(districts=[JONGNO, GANGNAM], min_age=33)
    population_table()

    found = evidence.document(poll=poll, sample=lopsided)["coverage"]

    assert [(row["band"], row["population"]) for row in found["age_band"]] == [
        (30, 2 * 2 * (200 + 500)),
        (50, 2 * 2 * 1000),
        (None, None),
    ]


def test_a_city_wide_audience_is_every_gu_of_the_table():
    import_population(path=SHIPPED_FILE, source="행정안전부 (test)")
    poll = PollFactory()

    found = english(evidence.document(poll=poll, sample={}))["coverage"]

    assert found["population"] == 9_289_813
    assert len(found["gu"]) == 26  # 25 gu and the unknown row
    assert found["gu"][0] == {
        "code": JONGNO,
        "name": "Jongno-gu",
        "population": found["gu"][0]["population"],
        "participants": None,
        "turnout": None,
    }


def test_names_and_sentences_follow_the_readers_language(poll, lopsided):
    population_table(gus=(JONGNO,))
    stored = evidence.document(poll=poll, sample=lopsided)

    korean = evidence.for_results(stored, content_language="ko")

    assert "강남구" in korean["refusal"]["detail"]
    assert evidence.for_results(None, content_language="ko") is None


# --- End to end: cast, close, count, read the results API --------------------------------------


def cast_weighted_poll(**poll_fields):
    """100 citizens vote in a poll for 종로구 and 강남구: 16 in each of 종로구's four cells (30s and
    50s, female and male; 12 of them for 찬성), 9 in each of 강남구's (3 for 찬성). Raw: 찬성 60 %.
    The population (``population_table``) has as many residents in each gu, so weighted: 찬성
    (0.75 + 0.333) / 2 = 54.2 %."""
    poll = PollFactory(options=["찬성", "반대"], districts=[JONGNO, GANGNAM], **poll_fields)
    yes, no = (option.pk for option in poll.options.all())
    for district, n, for_yes in ((SAJIK, 16, 12), (SINSA, 9, 3)):
        for age in (35, 55):
            for sex in (FEMALE, MALE):
                cast_many(
                    poll,
                    n,
                    lambda i, for_yes=for_yes: [yes] if i < for_yes else [no],
                    district_id=district,
                    birth_year=born(age),
                    gender=sex,
                )
    return poll


def read_results(client_for, poll, language: str = "en") -> dict:
    """The results API's answer, checked against the served schema (closed objects: no key the
    schema does not document)."""
    client = client_for(CitizenFactory())
    path = f"/api/v1/polls/{poll.pk}/results/"
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    body = response.json()
    validate_response(strict_schema(load_schema()), method="get", path=path, status=200, body=body)
    return body


def test_the_results_api_gives_weighted_shares_beside_the_raw_ones_once_final(client_for):
    population_table()
    poll = cast_weighted_poll()
    close_and_count(poll)

    body = read_results(client_for, poll)

    shown = body["evidence"]
    assert shown["status"] == "weighted"
    assert [(o["votes"], o["share"]) for o in body["options"]] == [(60, 0.6), (40, 0.4)]
    assert [
        (o["id"], o["raw_share"], o["weighted_share"]) for o in shown["weighted"]["options"]
    ] == [(o["id"], o["share"], w) for o, w in zip(body["options"], (0.5417, 0.4583), strict=True)]
    assert all(0 < o["margin_of_error"] < 0.15 for o in shown["weighted"]["options"])
    assert [(r["name"], r["participants"]) for r in shown["coverage"]["gu"]] == [
        ("Jongno-gu", 64),
        ("Gangnam-gu", 36),
        ("unknown", 0),
    ]
    assert shown["population_source"]["demo"] is True
    korean = read_results(client_for, poll, "ko")["evidence"]["coverage"]["gu"]
    assert [row["name"] for row in korean] == ["종로구", "강남구", "알 수 없음"]


def test_the_stored_evidence_holds_no_joint_cell_and_the_accumulator_is_gone():
    population_table()
    poll = cast_weighted_poll()
    close_and_count(poll)

    state = CountState.objects.get(poll=poll)

    assert state.final and state.sealed_breakdown is None
    assert state.evidence["status"] == "weighted"
    assert_no_joint_cell(state.evidence)


def test_no_evidence_is_published_before_the_count_is_final(client_for):
    population_table()
    poll = cast_weighted_poll(results_visibility="live")
    count_now()  # batches counted while the poll is open

    body = read_results(client_for, poll)

    assert body["total"] is not None and body["evidence"] is None
