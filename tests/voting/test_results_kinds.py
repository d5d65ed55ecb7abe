"""The results document of ranked and score questions (voting/results.py with voting/ranked.py and
voting/scored.py): its "kind", "ranked" and "scores" sections, null while the totals are withheld,
and strictly what the OpenAPI schema documents.

First ``results.build`` on counters written by hand, then ballots cast through the API, counted
by the counter, and read back from the results endpoint. The arithmetic is worked out by hand in
tests/voting/test_ranked.py and tests/voting/test_scored.py; here the same examples come out of the
whole ballot box.
"""

import json

import pytest

from tests.ballot_box import close_and_count
from tests.factories import CitizenFactory, PollFactory
from tests.openapi_strict import load_schema, strict_schema, validate_response
from voting import results
from voting.tallies import Counts, Tally

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

K = 10  # BALLOT_BATCH_MIN, pinned for this module


@pytest.fixture(autouse=True)
def _k(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.RESULTS_MIN_CELL = 5


@pytest.fixture(scope="module")
def schema():
    return strict_schema(load_schema())


def results_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/results/"


def assert_documented(schema, poll, body: dict) -> None:
    """``body`` is a results answer exactly as the schema documents it (every object closed)."""
    validate_response(
        schema,
        method="get",
        path=results_url(poll),
        status=200,
        body=json.loads(json.dumps(body)),
    )


def option_ids(poll) -> list[int]:
    return list(poll.options.order_by("position").values_list("pk", flat=True))


def ranked_poll(labels: list[str], **fields):
    fields = {"kind": "ranked", "min_choices": 1, "max_choices": len(labels), **fields}
    return PollFactory(options=labels, results_visibility="live", **fields)


def score_poll(labels: list[str], **fields):
    fields = {
        "kind": "score",
        "min_choices": 1,
        "max_choices": len(labels),
        "score_min": 1,
        "score_max": 5,
        "score_abstain": True,
        **fields,
    }
    return PollFactory(options=labels, results_visibility="live", **fields)


# --- results.build on counters written by hand -------------------------------------------------


def squeeze_tally(a: int, b: int, c: int) -> Tally:
    """9 ballots: A>B 4, C>B 3, B>A 2 (tests/voting/test_ranked.py: B wins every head to head
    and loses the runoff)."""
    return Tally(
        overall=Counts(ballots=9, votes={a: 6, b: 9, c: 3}),
        breakdown={},
        ranks={0: {a: 4, c: 3, b: 2}, 1: {b: 7, a: 2}},
        pairs={(a, b): 4, (b, a): 5, (a, c): 6, (c, a): 3, (b, c): 6, (c, b): 3},
        orders={(a, b): 4, (c, b): 3, (b, a): 2},
    )


def test_a_ranked_document_gives_the_runoff_borda_and_head_to_head(schema):
    poll = ranked_poll(["A", "B", "C"], max_choices=2)
    a, b, c = option_ids(poll)

    document = results.build(poll, squeeze_tally(a, b, c))

    assert document["kind"] == "ranked"
    assert document["scores"] is None
    assert document["evidence"] is None
    # Ballots naming an option: ranked it anywhere.
    assert [(o["id"], o["votes"]) for o in document["options"]] == [(a, 6), (b, 9), (c, 3)]
    assert document["ranked"] == {
        "max_rank": 2,
        "first_preferences": [
            {"id": a, "votes": 4, "share": 0.4444},
            {"id": b, "votes": 2, "share": 0.2222},
            {"id": c, "votes": 3, "share": 0.3333},
        ],
        "rounds": [
            {
                "round": 1,
                "continuing": 9,
                "exhausted": 0,
                "tallies": [
                    {"id": a, "votes": 4, "share": 0.4444},
                    {"id": b, "votes": 2, "share": 0.2222},
                    {"id": c, "votes": 3, "share": 0.3333},
                ],
                "eliminated": [b],
                "elected": None,
                "tie_break": None,
                "transfers": [{"from": b, "to": a, "votes": 2}],
            },
            {
                "round": 2,
                "continuing": 9,
                "exhausted": 0,
                "tallies": [
                    {"id": a, "votes": 6, "share": 0.6667},
                    {"id": c, "votes": 3, "share": 0.3333},
                ],
                "eliminated": [],
                "elected": a,
                "tie_break": None,
                "transfers": [],
            },
        ],
        "winner": a,
        # 3 options: first place 2 points, second 1.
        "borda": [
            {"id": a, "points": 4 * 2 + 2 * 1},
            {"id": b, "points": 2 * 2 + 7 * 1},
            {"id": c, "points": 3 * 2},
        ],
        "pairwise": [
            {
                "id": a,
                "against": [{"id": b, "wins": 4, "losses": 5}, {"id": c, "wins": 6, "losses": 3}],
            },
            {
                "id": b,
                "against": [{"id": a, "wins": 5, "losses": 4}, {"id": c, "wins": 6, "losses": 3}],
            },
            {
                "id": c,
                "against": [{"id": a, "wins": 3, "losses": 6}, {"id": b, "wins": 3, "losses": 6}],
            },
        ],
        "condorcet_winner": b,
    }
    assert_documented(schema, poll, document)


def test_a_score_document_gives_each_options_raters_mean_median_and_distribution(schema):
    poll = score_poll(["X", "Y"], score_min=0, score_max=3, score_abstain=False)
    x, y = option_ids(poll)
    tally = Tally(
        overall=Counts(ballots=4, votes={x: 4, y: 3}),
        breakdown={},
        scores={x: {0: 1, 3: 3}, y: {1: 2, 2: 1}},
    )

    document = results.build(poll, tally)

    assert (document["kind"], document["ranked"]) == ("score", None)
    assert document["scores"] == {
        "min": 0,
        "max": 3,
        "abstain_allowed": False,
        "options": [
            {
                "id": x,
                "raters": 4,
                "abstentions": 0,
                "mean": 2.25,
                "median": 3.0,
                "distribution": [
                    {"score": 0, "ballots": 1},
                    {"score": 1, "ballots": 0},
                    {"score": 2, "ballots": 0},
                    {"score": 3, "ballots": 3},
                ],
            },
            {
                "id": y,
                "raters": 3,
                "abstentions": 1,
                "mean": 1.3333,
                "median": 1.0,
                "distribution": [
                    {"score": 0, "ballots": 0},
                    {"score": 1, "ballots": 2},
                    {"score": 2, "ballots": 1},
                    {"score": 3, "ballots": 0},
                ],
            },
        ],
    }
    assert_documented(schema, poll, document)


@pytest.mark.parametrize("kind", ["ranked", "score"])
def test_while_withheld_the_kinds_sections_are_null_like_every_other_number(schema, kind):
    poll = ranked_poll(["A", "B"]) if kind == "ranked" else score_poll(["A", "B"])

    document = results.build(poll, Tally(overall=Counts(), breakdown={}))

    assert document["withheld"] is True
    assert (document["kind"], document["ranked"], document["scores"]) == (kind, None, None)
    assert_documented(schema, poll, document)


def test_a_choice_document_has_neither_section():
    poll = PollFactory(kind="multiple", max_choices=2)
    a, _b = option_ids(poll)

    document = results.build(poll, Tally(overall=Counts(ballots=10, votes={a: 7}), breakdown={}))

    assert (document["kind"], document["ranked"], document["scores"]) == ("multiple", None, None)


def weighted_evidence(a: int, b: int) -> dict:
    return {
        "status": "weighted",
        "refusal": None,
        "population_source": {
            "title": "주민등록인구",
            "reference_date": "2026-06-30",
            "demo": False,
        },
        "weighted": {
            "ballots": 120,
            "weighted_ballots": 110,
            "unknown_ballots": 6,
            "outside_ballots": 4,
            "effective_sample_size": 93.2,
            "design_effect": 1.18,
            "cap": 5.0,
            "trimmed": False,
            "options": [
                {"id": a, "raw_share": 0.6, "weighted_share": 0.55, "margin_of_error": 0.101},
                {"id": b, "raw_share": 0.4, "weighted_share": None, "margin_of_error": None},
            ],
        },
        "coverage": None,
    }


def refused_evidence(a: int, b: int) -> dict:
    return {
        "status": "refused",
        "refusal": {"reason": "too_few_ballots", "detail": "Too few ballots to weight."},
        "population_source": {
            "title": "주민등록인구",
            "reference_date": "2026-06-30",
            "demo": True,
        },
        "weighted": None,
        "coverage": {
            "population": 1000,
            "registered": 200,
            "registered_share": 0.2,
            "participants": 10,
            "turnout": 0.01,
            "turnout_of_registered": 0.05,
            "gu": [
                {
                    "code": None,
                    "name": "unknown",
                    "population": None,
                    "participants": 10,
                    "turnout": None,
                }
            ],
            "age_band": [
                {
                    "band": 30,
                    "label": "30s",
                    "population": 1000,
                    "participants": 10,
                    "turnout": 0.01,
                }
            ],
            "sex": [{"sex": "female", "population": 1000, "participants": None, "turnout": None}],
        },
    }


@pytest.mark.parametrize("make", [weighted_evidence, refused_evidence])
def test_the_evidence_is_published_as_given(schema, make):
    """``build`` neither computes nor changes the evidence: its callers pass the stored one
    (voting/evidence.py ``for_results``) with final results."""
    poll = PollFactory()
    a, b = option_ids(poll)
    evidence = make(a, b)
    tally = Tally(overall=Counts(ballots=10, votes={a: 6, b: 4}), breakdown={})

    document = results.build(poll, tally, evidence=evidence)

    assert document["evidence"] == evidence
    assert_documented(schema, poll, document)


def test_the_ranked_document_allows_ranking_no_more_options_than_there_are():
    poll = ranked_poll(["A", "B"], max_choices=5)
    a, _b = option_ids(poll)
    tally = Tally(
        overall=Counts(ballots=10, votes={a: 10}),
        breakdown={},
        ranks={0: {a: 10}},
        orders={(a,): 10},
    )

    assert results.build(poll, tally)["ranked"]["max_rank"] == 2


# --- through the ballot box and the API --------------------------------------------------------


def cast(client_for, poll, body: dict, n: int) -> None:
    """``n`` new citizens each send ``body`` as their ballot."""
    for _ in range(n):
        response = client_for(CitizenFactory()).post(
            f"/api/v1/polls/{poll.pk}/ballots/", body, format="json"
        )
        assert response.status_code == 201, response.json()


def test_a_ranked_polls_results_through_the_api(client_for, schema):
    """tests/voting/test_ranked.py's three rounds, cast by 16 citizens: A>B 6, B>C 5, C>B 3,
    D>C 1, D 1. B is elected in round 3 and also beats every option head to head."""
    poll = ranked_poll(["A", "B", "C", "D"], max_choices=2)
    a, b, c, d = option_ids(poll)
    for ranking, n in (([a, b], 6), ([b, c], 5), ([c, b], 3), ([d, c], 1), ([d], 1)):
        cast(client_for, poll, {"ranking": ranking}, n)
    close_and_count(poll)

    response = client_for(CitizenFactory()).get(results_url(poll))

    assert response.status_code == 200
    body = response.json()
    assert_documented(schema, poll, body)
    assert (body["kind"], body["total"], body["scores"]) == ("ranked", 16, None)
    ranked = body["ranked"]
    assert [(f["id"], f["votes"]) for f in ranked["first_preferences"]] == [
        (a, 6),
        (b, 5),
        (c, 3),
        (d, 2),
    ]
    assert [
        (r["round"], r["continuing"], r["exhausted"], r["eliminated"], r["elected"])
        for r in ranked["rounds"]
    ] == [(1, 16, 0, [d], None), (2, 15, 1, [c], None), (3, 14, 2, [], b)]
    assert [r["transfers"] for r in ranked["rounds"]] == [
        [{"from": d, "to": c, "votes": 1}, {"from": d, "to": None, "votes": 1}],
        [{"from": c, "to": b, "votes": 3}, {"from": c, "to": None, "votes": 1}],
        [],
    ]
    assert ranked["rounds"][2]["tallies"] == [
        {"id": a, "votes": 6, "share": 0.4286},
        {"id": b, "votes": 8, "share": 0.5714},
    ]
    assert ranked["winner"] == b
    # 4 options: 3, 2, 1 points. A: 6×3. B: 6×2 + 5×3 + 3×2. C: 5×2 + 3×3 + 1×2. D: 2×3.
    assert ranked["borda"] == [
        {"id": a, "points": 18},
        {"id": b, "points": 33},
        {"id": c, "points": 21},
        {"id": d, "points": 6},
    ]
    # An unranked option is below every ranked one: the 6 A>B ballots put A above C and D too.
    row_b = next(row for row in ranked["pairwise"] if row["id"] == b)
    assert row_b["against"] == [
        {"id": a, "wins": 8, "losses": 6},
        {"id": c, "wins": 11, "losses": 4},
        {"id": d, "wins": 14, "losses": 2},
    ]
    assert ranked["condorcet_winner"] == b


def test_a_score_polls_results_through_the_api(client_for, schema):
    """10 citizens score X, Y, Z on 1–5, leaving some unscored: X 5 & Y 2 (4), X 3 & Y 2 & Z 1
    (3), X 1 (2), Y 4 & Z 5 (1). X: 9 raters, mean 31 / 9, median the 5th of 1 1 3 3 3 5 5 5 5.
    Y: 8 raters, mean 18 / 8, median 2. Z: 4 raters (1 1 1 5), mean 2, median 1."""
    poll = score_poll(["X", "Y", "Z"])
    x, y, z = option_ids(poll)

    def scores(**given: int) -> dict:
        ids = {"x": x, "y": y, "z": z}
        return {"scores": [{"option": ids[name], "score": n} for name, n in given.items()]}

    cast(client_for, poll, scores(x=5, y=2), 4)
    cast(client_for, poll, scores(x=3, y=2, z=1), 3)
    cast(client_for, poll, scores(x=1), 2)
    cast(client_for, poll, scores(y=4, z=5), 1)
    close_and_count(poll)

    body = client_for(CitizenFactory()).get(results_url(poll)).json()

    assert_documented(schema, poll, body)
    assert (body["kind"], body["total"], body["ranked"]) == ("score", 10, None)
    assert [(o["id"], o["votes"]) for o in body["options"]] == [(x, 9), (y, 8), (z, 4)]
    summary = {
        o["id"]: (o["raters"], o["abstentions"], o["mean"], o["median"])
        for o in body["scores"]["options"]
    }
    assert summary == {x: (9, 1, 3.4444, 3.0), y: (8, 2, 2.25, 2.0), z: (4, 6, 2.0, 1.0)}
    distribution_z = body["scores"]["options"][2]["distribution"]
    assert [(s["score"], s["ballots"]) for s in distribution_z] == [
        (1, 3),
        (2, 0),
        (3, 0),
        (4, 0),
        (5, 1),
    ]
    assert (body["scores"]["min"], body["scores"]["max"], body["scores"]["abstain_allowed"]) == (
        1,
        5,
        True,
    )


def test_a_ranked_poll_below_k_shows_no_round_at_all(client_for, schema):
    poll = ranked_poll(["A", "B"])
    a, b = option_ids(poll)
    cast(client_for, poll, {"ranking": [a, b]}, K - 1)
    close_and_count(poll)

    body = client_for(CitizenFactory()).get(results_url(poll)).json()

    assert_documented(schema, poll, body)
    assert (body["withheld"], body["ranked"], body["scores"]) == (True, None, None)
