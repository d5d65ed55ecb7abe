"""The results charts (voting/charts.py and its parts): results documents written by hand in the
shapes of ``results.build`` (issue 18's design), drawn as SVG and read back as XML.

A chart must say what the tables say: a withheld number is drawn as a hatched "withheld" box and
never as a bar of zero, an error bar spans the weighted share ± its margin (clamped to 0–100%),
the instant-runoff bands carry exactly the transfers of each round, and no label can inject
markup.
"""

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from django.test import Client
from django.utils import translation

from districts.models import PopulationCell, PopulationTable
from tests.ballot_box import cast_many, close_and_count
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import CitizenFactory, OfficialFactory, PollFactory, born
from voting import casting, charts, evidence
from voting.admin.results import results_tables
from voting.chart_svg import text_width, wrap
from voting.models import Poll

SVG = "{http://www.w3.org/2000/svg}"
A, B, C, D = 11, 12, 13, 14


@pytest.fixture(autouse=True)
def _english():
    # The admin's words in English (the site's default is Korean): the tests read them.
    with translation.override("en"):
        yield


def option(id_: int, label: str, votes: int | None, total: int | None) -> dict:
    share = None if votes is None or not total else round(votes / total, 4)
    return {"id": id_, "label": label, "votes": votes, "share": share}


def choice_document(*, evidence: dict | None = None) -> dict:
    """100 ballots: 찬성 55, 반대 41, a third option 4 (its weighted share withheld)."""
    return {
        "poll": 1,
        "kind": "single",
        "status": "closed",
        "total": 100,
        "withheld": False,
        "options": [
            option(A, "찬성", 55, 100),
            option(B, "반대", 41, 100),
            option(C, "<script>alert(1)</script>", 4, 100),
        ],
        "breakdown": {"gu": [], "age_band": [], "gender": [], "channel": []},
        "ranked": None,
        "scores": None,
        "evidence": evidence,
    }


def weighted_evidence() -> dict:
    return {
        "status": "weighted",
        "refusal": None,
        "population_source": {
            "title": "주민등록인구",
            "reference_date": "2026-06-30",
            "demo": True,
        },
        "weighted": {
            "ballots": 100,
            "weighted_ballots": 90,
            "unknown_ballots": 8,
            "outside_ballots": 2,
            "effective_sample_size": 71.3,
            "design_effect": 1.26,
            "cap": 5.0,
            "trimmed": False,
            "options": [
                {"id": A, "raw_share": 0.55, "weighted_share": 0.48, "margin_of_error": 0.116},
                {"id": B, "raw_share": 0.41, "weighted_share": 0.02, "margin_of_error": 0.05},
                {"id": C, "raw_share": 0.04, "weighted_share": None, "margin_of_error": None},
            ],
        },
        "coverage": {
            "population": 10000,
            "registered": 2000,
            "registered_share": 0.2,
            "participants": 100,
            "turnout": 0.01,
            "turnout_of_registered": 0.05,
            "gu": [
                {
                    "code": "11110",
                    "name": "종로구",
                    "population": 4000,
                    "participants": 60,
                    "turnout": 0.015,
                },
                {
                    "code": "11140",
                    "name": "중구",
                    "population": 6000,
                    "participants": None,
                    "turnout": None,
                },
                {
                    "code": None,
                    "name": "unknown",
                    "population": None,
                    "participants": None,
                    "turnout": None,
                },
            ],
            "age_band": [
                {
                    "band": 30,
                    "label": "30s",
                    "population": 5000,
                    "participants": 70,
                    "turnout": 0.014,
                },
                {
                    "band": 50,
                    "label": "50s",
                    "population": 5000,
                    "participants": 30,
                    "turnout": 0.006,
                },
            ],
            "sex": [
                {"sex": "female", "population": 5200, "participants": 64, "turnout": 0.0123},
                {"sex": "male", "population": 4800, "participants": 36, "turnout": 0.0075},
            ],
        },
    }


def ranked_document() -> dict:
    """40 ballots over A, B, C, D. Round 1: 15 / 12 / 8 / 5, D out: 3 to C, 2 exhausted.
    Round 2: 15 / 12 / 11, C out: 2 to A, 7 to B, 2 exhausted. Round 3: A 17, B 19: B elected."""
    rounds = [
        {"round": 1, "continuing": 40, "exhausted": 0,
         "tallies": [tally(A, 15, 40), tally(B, 12, 40), tally(C, 8, 40), tally(D, 5, 40)],
         "eliminated": [D], "elected": None, "tie_break": None,
         "transfers": [{"from": D, "to": C, "votes": 3}, {"from": D, "to": None, "votes": 2}]},
        {"round": 2, "continuing": 38, "exhausted": 2,
         "tallies": [tally(A, 15, 38), tally(B, 12, 38), tally(C, 11, 38)],
         "eliminated": [C], "elected": None, "tie_break": "previous_rounds",
         "transfers": [{"from": C, "to": A, "votes": 2}, {"from": C, "to": B, "votes": 7},
                       {"from": C, "to": None, "votes": 2}]},
        {"round": 3, "continuing": 36, "exhausted": 4,
         "tallies": [tally(A, 17, 36), tally(B, 19, 36)],
         "eliminated": [], "elected": B, "tie_break": None, "transfers": []},
    ]  # fmt: skip
    labels = {A: "A안 <b>", B: "B안", C: "C안", D: "D안"}
    first = {A: 15, B: 12, C: 8, D: 5}
    return {
        **choice_document(),
        "kind": "ranked",
        "total": 40,
        "options": [option(i, labels[i], 40 if i == A else 30, 40) for i in (A, B, C, D)],
        "ranked": {
            "max_rank": 4,
            "first_preferences": [tally(i, first[i], 40) for i in (A, B, C, D)],
            "rounds": rounds,
            "winner": B,
            "borda": [
                {"id": B, "points": 80},
                {"id": A, "points": 75},
                {"id": C, "points": 50},
                {"id": D, "points": 35},
            ],
            "pairwise": [
                {
                    "id": i,
                    "against": [
                        {"id": j, "wins": 20 + (i < j), "losses": 20 - (i < j)}
                        for j in (A, B, C, D)
                        if j != i
                    ],
                }
                for i in (A, B, C, D)
            ],
            "condorcet_winner": A,
        },
    }


def tally(id_: int, votes: int, continuing: int) -> dict:
    return {"id": id_, "votes": votes, "share": round(votes / continuing, 4)}


def score_document() -> dict:
    distribution = [
        {"score": s, "ballots": n} for s, n in zip(range(1, 6), (2, 0, 3, 5, 10), strict=True)
    ]
    return {
        **choice_document(),
        "kind": "score",
        "total": 24,
        "options": [option(A, "산책로", 20, 24), option(B, "자전거길", 0, 24)],
        "scores": {
            "min": 1,
            "max": 5,
            "abstain_allowed": True,
            "options": [
                {
                    "id": A,
                    "raters": 20,
                    "abstentions": 4,
                    "mean": 3.9,
                    "median": 4.5,
                    "distribution": distribution,
                },
                {
                    "id": B,
                    "raters": 0,
                    "abstentions": 24,
                    "mean": None,
                    "median": None,
                    "distribution": [{"score": s, "ballots": 0} for s in range(1, 6)],
                },
            ],
        },
    }


def drawn(document: dict) -> dict[str, charts.Chart]:
    return {chart.key: chart for chart in charts.charts(document)}


def parsed(chart: charts.Chart) -> ET.Element:
    assert chart.svg is not None
    return ET.fromstring(str(chart.svg))  # noqa: S314 (our own markup)


def find(root: ET.Element, css: str) -> list[ET.Element]:
    return [node for node in root.iter() if css in (node.get("class") or "").split()]


def test_every_chart_is_an_image_named_by_its_title_and_described():
    for chart in drawn(choice_document(evidence=weighted_evidence())).values():
        root = parsed(chart)
        assert root.get("role") == "img"
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert title is not None and title.text == chart.title
        assert desc is not None and desc.text
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert chart.tables, "every chart has its numbers as a table beside it"


def test_without_evidence_the_shares_chart_has_one_raw_bar_per_option_and_no_weighted_bar():
    root = parsed(drawn(choice_document())["shares"])
    raw = find(root, "bar-raw")
    assert [int(bar.get("data-option")) for bar in raw] == [A, B, C]
    assert [float(bar.get("data-share")) for bar in raw] == [0.55, 0.41, 0.04]
    assert not find(root, "bar-weighted")
    assert not find(root, "error-bar")


def test_the_weighted_bar_carries_a_95_percent_interval_of_share_plus_minus_margin():
    chart = drawn(choice_document(evidence=weighted_evidence()))["shares"]
    root = parsed(chart)
    weighted = {int(bar.get("data-option")): bar for bar in find(root, "bar-weighted")}
    assert set(weighted) == {A, B}  # C's weighted share is withheld: no bar at all
    bar = weighted[A]
    x0, width = float(bar.get("x")), float(bar.get("width"))
    scale = width / 0.48
    error = next(node for node in find(root, "error-bar") if node in list(_parent_of(root, bar)))
    assert float(error.get("data-low")) == pytest.approx(0.48 - 0.116)
    assert float(error.get("data-high")) == pytest.approx(0.48 + 0.116)
    whisker = error.find(f"{SVG}line")
    assert float(whisker.get("x1")) == pytest.approx(x0 + (0.48 - 0.116) * scale, abs=0.1)
    assert float(whisker.get("x2")) == pytest.approx(x0 + (0.48 + 0.116) * scale, abs=0.1)
    # A margin wider than the share stops at 0%: no share is below nothing.
    low = [node for node in find(root, "error-bar") if node not in list(_parent_of(root, bar))]
    assert [float(node.get("data-low")) for node in low] == [0.0]
    assert [float(node.get("data-high")) for node in low] == pytest.approx([0.07])
    assert chart.tables[0].rows[0][3:] == ["48.0%", "36.4% – 59.6%"]


def _parent_of(root: ET.Element, child: ET.Element) -> ET.Element:
    return next(node for node in root.iter() if child in list(node))


def test_a_withheld_weighted_share_is_drawn_as_withheld_never_as_zero():
    chart = drawn(choice_document(evidence=weighted_evidence()))["shares"]
    root = parsed(chart)
    placeholders = find(root, "chart-withheld")
    assert len(placeholders) == 1
    (placeholder,) = placeholders
    assert "".join(placeholder.itertext()).count("withheld") >= 1
    assert placeholder.find(f"{SVG}rect").get("fill") == "url(#hatch-shares)"
    assert root.find(f".//{SVG}pattern[@id='hatch-shares']") is not None
    assert not [bar for bar in find(root, "bar-weighted") if bar.get("data-option") == str(C)]
    # The table beside it says "withheld" too (None), not 0.
    assert chart.tables[0].rows[2][3:] == [None, None]


def test_withheld_totals_are_drawn_as_withheld_bars():
    document = choice_document()
    document.update(total=None, withheld=True)
    document["options"] = [{**o, "votes": None, "share": None} for o in document["options"]]
    root = parsed(drawn(document)["shares"])
    assert not find(root, "bar-raw")
    assert len(find(root, "chart-withheld")) == 3


def test_labels_are_escaped():
    chart = drawn(choice_document(evidence=weighted_evidence()))["shares"]
    markup = str(chart.svg)
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    irv = str(drawn(ranked_document())["irv"].svg)
    assert "<b>" not in irv and "A안 &lt;b&gt;" in irv


def test_a_long_label_is_wrapped_and_shortened_with_its_full_text_as_tooltip():
    long = "한강 공원 야간 개방 시간을 자정까지 연장하고 주말에는 새벽 두 시까지 운영하는 안"
    document = choice_document()
    document["options"][0]["label"] = long
    root = parsed(drawn(document)["shares"])
    label = next(node for node in find(root, "chart-label") if node.find(f"{SVG}title") is not None)
    assert label.find(f"{SVG}title").text == long
    lines = [span.text for span in label.findall(f"{SVG}tspan")]
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(text_width(line) <= 190 for line in lines)


def test_wrap_breaks_at_spaces_and_never_loses_text_that_fits():
    assert wrap("찬성 반대", width=1000) == ["찬성 반대"]
    assert wrap("aaaa bbbb", width=text_width("aaaa b")) == ["aaaa", "bbbb"]


def test_turnout_charts_draw_withheld_groups_as_withheld_and_the_overall_turnout_as_a_line():
    drawings = drawn(choice_document(evidence=weighted_evidence()))
    root = parsed(drawings["turnout-gu"])
    bars = find(root, "bar-turnout")
    assert len(bars) == 1  # 종로구; 중구 and "unknown" are withheld
    assert len(find(root, "chart-withheld")) == 2
    (line,) = find(root, "reference")
    x = float(line.find(f"{SVG}line").get("x1"))
    scale = float(bars[0].get("width")) / 0.015
    assert x == pytest.approx(float(bars[0].get("x")) + 0.01 * scale, abs=0.1)
    assert "1.0%" in "".join(line.itertext())
    table = drawings["turnout-gu"].tables[0]
    assert table.rows[1] == ["중구", 6000, None, None]
    sexes = parsed(drawings["turnout-sex"])
    assert len(find(sexes, "bar-turnout")) == 2


def path_box(d: str) -> tuple[float, float, float, float]:
    """(source top, source bottom, target top, target bottom) of a band's path."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    # M x1,y1 C .. .. x2,y2 L x2,y2b C .. .. x1,y1b Z
    y1, y2, y2b, y1b = numbers[1], numbers[7], numbers[9], numbers[15]
    return y1, y1b, y2, y2b


def test_the_runoff_flow_has_a_bar_per_continuing_option_and_bands_for_each_transfer():
    document = ranked_document()
    root = parsed(drawn(document)["irv"])
    bars = {
        (int(bar.get("data-round")), bar.get("data-option")): bar for bar in find(root, "irv-bar")
    }
    for round_ in document["ranked"]["rounds"]:
        drawn_options = {option for r, option in bars if r == round_["round"] and option}
        assert drawn_options == {str(t["id"]) for t in round_["tallies"]}
        for t in round_["tallies"]:
            assert int(bars[round_["round"], str(t["id"])].get("data-votes")) == t["votes"]
    scale = float(bars[1, str(A)].get("height")) / 15
    for round_ in document["ranked"]["rounds"]:
        for t in round_["tallies"]:
            height = float(bars[round_["round"], str(t["id"])].get("height"))
            assert height == pytest.approx(t["votes"] * scale, abs=0.1)
    eliminated = {bar.get("data-option") for bar in find(root, "irv-bar--eliminated")}
    assert eliminated == {str(D), str(C)}

    transfers = find(root, "irv-transfer")
    expected = [
        (r["round"], t["from"], t["to"], t["votes"])
        for r in document["ranked"]["rounds"]
        for t in r["transfers"]
    ]
    assert len(transfers) == len(expected)
    for band, (round_, source, target, votes) in zip(transfers, expected, strict=True):
        assert (int(band.get("data-from")), band.get("data-to"), int(band.get("data-votes"))) == (
            source, "" if target is None else str(target), votes)  # fmt: skip
        top, bottom, target_top, target_bottom = path_box(band.get("d"))
        assert bottom - top == pytest.approx(votes * scale, abs=0.1)
        # Out of the eliminated option's bar, into the receiver's bar in the next round.
        out = bars[round_, str(source)]
        into = bars[round_ + 1, "" if target is None else str(target)]
        assert float(out.get("y")) - 0.1 <= top < bottom <= _bottom(out) + 0.1
        assert float(into.get("y")) - 0.1 <= target_top < target_bottom <= _bottom(into) + 0.1
    # Every ballot of an eliminated option goes somewhere: its bands add up to its bar.
    for round_ in document["ranked"]["rounds"]:
        for gone in round_["eliminated"]:
            moved = sum(t["votes"] for t in round_["transfers"] if t["from"] == gone)
            assert moved == next(t["votes"] for t in round_["tallies"] if t["id"] == gone)


def _bottom(bar: ET.Element) -> float:
    return float(bar.get("y")) + float(bar.get("height"))


def test_the_runoff_tables_list_the_rounds_the_transfers_and_the_tie_break():
    chart = drawn(ranked_document())["irv"]
    rounds, transfers = chart.tables
    assert rounds.header == ["Option", "Round 1", "Round 2", "Round 3"]
    assert rounds.rows[0] == ["A안 <b>", 15, 15, 17]
    assert rounds.rows[1] == ["B안", 12, 12, "19 ★"]
    assert rounds.rows[3] == ["D안", "5 ✕", "", ""]
    assert rounds.rows[-1] == ["exhausted", 0, 2, 4]
    assert transfers.rows[0] == [1, "D안", "C안", 3]
    assert transfers.rows[1] == [1, "D안", "exhausted", 2]
    assert "Round 2" in chart.note and "earlier rounds" in chart.note


def test_borda_and_pairwise_are_tables():
    chart = drawn(ranked_document())["ranking"]
    assert chart.svg is None
    borda, pairwise = chart.tables
    assert borda.rows[0] == ["B안", 80]
    assert pairwise.header == ["Option", "A안 <b>", "B안", "C안", "D안"]
    assert pairwise.rows[0] == ["A안 <b>", "", "21 : 19", "21 : 19", "21 : 19"]
    assert "A안" in chart.note  # the Condorcet winner


def test_a_ranked_poll_shows_first_preferences_as_its_shares():
    root = parsed(drawn(ranked_document())["shares"])
    shares = [float(bar.get("data-share")) for bar in find(root, "bar-raw")]
    assert shares == [0.375, 0.3, 0.2, 0.125]


def test_scores_are_stacked_by_score_and_a_score_poll_has_no_shares_chart():
    drawings = drawn(score_document())
    assert "shares" not in drawings
    chart = drawings["scores"]
    root = parsed(chart)
    segments = [s for s in find(root, "score-segment") if s.get("data-option") == str(A)]
    assert [int(s.get("data-score")) for s in segments] == [1, 3, 4, 5]  # 2: nobody
    widths = [float(s.get("width")) for s in segments]
    assert [w / sum(widths) for w in widths] == pytest.approx([2 / 20, 3 / 20, 5 / 20, 10 / 20])
    assert not [s for s in find(root, "score-segment") if s.get("data-option") == str(B)]
    assert chart.tables[0].rows == [
        ["산책로", 2, 0, 3, 5, 10, 4, "3.9", "4.5"],
        ["자전거길", 0, 0, 0, 0, 0, 24, None, None],
    ]


# --- The admin's results page, on polls cast and counted through the ballot box ---------------

FEMALE, MALE = "female", "male"
# The 8 joint cells the weighted poll's voters live in: 2 gu × 2 age bands × 2 sexes.
VOTER_CELLS = [
    (dong, age, sex) for dong in (SAJIK, SINSA) for age in (35, 55) for sex in (FEMALE, MALE)
]


def demo_population() -> PopulationTable:
    """1,000 residents in every 종로구/강남구 × 30s/50s × sex cell (500 per 5-year band), marked
    as a demonstration table."""
    table = PopulationTable.objects.create(
        reference_date=date(2026, 6, 30), source="시험용 인구표 / test table", is_demo=True
    )
    PopulationCell.objects.bulk_create(
        PopulationCell(table=table, district_id=gu, sex=sex, age_from=age, population=500)
        for gu in (JONGNO, GANGNAM)
        for sex in (FEMALE, MALE)
        for age in (30, 35, 50, 55)
    )
    return table


# Votes (찬성, 반대, 조건부 찬성, 유보) in each of VOTER_CELLS: 종로구's four cells 18 ballots
# each, 강남구's 8 — against the same 1,000 residents a cell, so 강남구's ballots weigh more.
CELL_VOTES = [
    (9, 4, 4, 1), (9, 4, 4, 1), (8, 5, 5, 0), (8, 5, 5, 0),
    (2, 4, 2, 0), (2, 3, 2, 1), (1, 4, 3, 0), (2, 4, 2, 0),
]  # fmt: skip


def weighted_choice_poll() -> Poll:
    """A closed, counted single-choice poll of 종로구 and 강남구 whose evidence is weighted:
    104 ballots (CELL_VOTES). 유보's 3 ballots are too few for a weighted share, and so, with
    it, is the smallest other one (조건부 찬성): a single choice's shares add up to 1."""
    demo_population()
    poll = PollFactory(
        title="청계천 야간 개방 (가중)",
        options=["찬성", "반대", "조건부 찬성", "유보"],
        districts=[JONGNO, GANGNAM],
        results_visibility="officials",
    )
    options = [option.pk for option in poll.options.order_by("position")]
    for (dong, age, sex), votes in zip(VOTER_CELLS, CELL_VOTES, strict=True):
        ballots = [option for option, n in zip(options, votes, strict=True) for _ in range(n)]
        cast_many(
            poll,
            len(ballots),
            lambda i, ballots=ballots: [ballots[i]],
            district_id=dong,
            birth_year=born(age),
            gender=sex,
        )
    close_and_count(poll)
    return poll


RUNOFF = (("A>B", 12), ("B>C", 10), ("C>B", 6), ("D>C", 2), ("D", 2))


def ranked_poll_counted() -> Poll:
    """tests/voting/test_results_kinds.py's three rounds, twice over (32 ballots): D is out
    first (to C and exhausted), then C (to B and exhausted); B is elected in round 3."""
    poll = PollFactory(
        title="한강 공원 개선 우선순위",
        kind="ranked",
        options=["A 야간 조명", "B 자전거 도로", "C 그늘막", "D 반려견 놀이터"],
        min_choices=1,
        max_choices=2,
        results_visibility="officials",
    )
    options = poll.options.order_by("position").values_list("pk", flat=True)
    ids = dict(zip("ABCD", options, strict=True))
    for ranking, n in RUNOFF:
        for _ in range(n):
            casting.cast_ballot(
                poll=poll,
                voter=CitizenFactory(district_id=SAJIK, birth_year=born(40), gender=FEMALE),
                ranking=[ids[letter] for letter in ranking.split(">")],
            )
    close_and_count(poll)
    return poll


def score_poll_counted() -> Poll:
    poll = PollFactory(
        title="공원 시설 만족도",
        kind="score",
        options=["산책로", "운동 기구"],
        min_choices=1,
        max_choices=2,
        score_min=1,
        score_max=5,
        score_abstain=True,
        results_visibility="officials",
    )
    walk, gym = poll.options.order_by("position")
    for i in range(12):
        scores = [(walk.pk, 1 + i % 5)] + ([(gym.pk, 5)] if i % 3 else [])
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), scores=scores)
    close_and_count(poll)
    return poll


def results_page(poll) -> str:
    official = OfficialFactory(role="official")
    client = Client(headers={"accept-language": "en"})
    client.force_login(official)
    response = client.get(f"/admin/voting/poll/{poll.pk}/results/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_results_page_draws_weighted_shares_and_says_what_they_rest_on():
    poll = weighted_choice_poll()
    page = results_page(poll)
    weighted = evidence.published(poll)["weighted"]["options"]
    shown = [row for row in weighted if row["weighted_share"] is not None]
    # 유보's weighted share is withheld (3 ballots), and with it the smallest other one.
    assert len(shown) == 2
    assert page.count('class="bar-raw"') == 4
    assert page.count('class="bar-weighted"') == len(shown)
    assert page.count('class="error-bar"') == len(shown)
    assert page.count('class="chart-withheld"') == 4 - len(shown)
    for key in ("shares", "turnout-gu", "turnout-age_band", "turnout-sex"):
        assert f'id="chart-{key}"' in page
    figures = page[page.index('id="results-evidence"') :]
    figures = figures[: figures.index("</dl>")]
    assert "Effective sample size" in figures and "Design effect" in figures
    assert "a demonstration table, not official statistics" in figures
    # Above the tables that were there before.
    assert page.index('id="chart-shares"') < page.index('id="results-options"')


@pytest.mark.django_db
def test_the_results_page_of_a_ranked_poll_draws_the_rounds_and_lists_borda_and_pairwise():
    poll = ranked_poll_counted()
    page = results_page(poll)
    options = re.findall(r'class="irv-bar[^"]*" data-round="(\d)" data-option="\d+"', page)
    assert [options.count(str(n)) for n in (1, 2, 3)] == [4, 3, 2]
    exhausted = re.findall(r'class="irv-bar" data-round="(\d)" data-option=""', page)
    assert exhausted == ["2", "3"]
    assert page.count('class="irv-transfer"') == 4
    assert "Borda count" in page and "Pairwise contests" in page
    assert page.count('class="bar-raw"') == 4  # the first preferences


@pytest.mark.django_db
def test_the_results_page_of_a_score_poll_draws_the_distributions():
    page = results_page(score_poll_counted())
    assert 'id="chart-scores"' in page
    assert 'id="chart-shares"' not in page
    assert page.count('class="score-segment"') == 5 + 1  # 산책로 1–5, 운동 기구 only 5


def test_a_ranked_polls_option_table_says_its_numbers_count_ballots_ranking_each_option():
    """Officials must not read 87.5% as a first-preference share: the ranked table's column says
    what its numbers are: ballots ranking the option anywhere (together above 100%)."""
    document = {
        "kind": "ranked",
        "options": [{"id": 1, "label": "가", "votes": 28, "share": 0.875}],
        "breakdown": {"gu": [], "age_band": [], "gender": [], "channel": []},
    }

    with translation.override("en"):
        (options, *_rest) = results_tables(document)

    assert options.header == ["Option", "Ballots ranking it", "Share"]
