"""Officials' result files: the long-format CSV and the XLSX workbook (issue 18).

Each is fetched through the admin as an official, read back (the CSV with the csv module, the
workbook with openpyxl) and held against ``results.build``'s document and the public board: the
files must say what the results page says, suppress what it suppresses, and never become a
formula in an official's spreadsheet.
"""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from tests.ballot_box import cast_many, close_and_count
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import CitizenFactory, OfficialFactory, PollFactory, born
from tests.voting.conftest import login
from tests.voting.test_evidence import cast_weighted_poll, population_table
from voting import board, casting, evidence, results, sealing, tallies
from voting.admin.results_tidy import tidy_header
from voting.models import CountState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

K = 10  # BALLOT_BATCH_MIN, pinned below: the expected figures are written for it
SEOUL = ZoneInfo("Asia/Seoul")

LONG_HEADER_EN = [
    "Poll ID",
    "Breakdown",
    "Code",
    "Group",
    "Participants",
    "Option ID",
    "Option",
    "Votes",
    "Share",
    "Weighted share",
    "Margin of error",
    "Population",
    "Turnout",
    "Note",
]
NOTE = LONG_HEADER_EN.index("Note")
COUNTS = ("overall", "gu", "age_band", "gender", "channel")  # the Breakdown of the count's rows
SHEETS_KO = ["개요", "선택지", "자치구별", "연령대별", "성별", "채널별", "전체 수치", "산출 방법"]
SHEETS_EN = [
    "Summary",
    "Options",
    "By gu",
    "By age band",
    "By gender",
    "By channel",
    "All figures",
    "Method",
]


@pytest.fixture(autouse=True)
def _k(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.RESULTS_MIN_CELL = 5


@pytest.fixture
def poll_below_k():
    """A closed poll whose whole turnout (k - 1) stays below k: nothing is ever counted."""
    poll = PollFactory(title="소수 투표", options=["찬성", "반대"], results_visibility="officials")
    cast_many(poll, K - 1, district_id=SAJIK, birth_year=born(35), gender="female")
    assert close_and_count(poll) == 0
    return poll


def long_url(poll) -> str:
    return f"/admin/voting/poll/{poll.pk}/results/long-csv/"


def xlsx_url(poll) -> str:
    return f"/admin/voting/poll/{poll.pk}/results/xlsx/"


def csv_rows(response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Korean
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def workbook(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return load_workbook(io.BytesIO(response.content))


def values(sheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def summary(book, label: str) -> object:
    return next(value for key, value in values(book.worksheets[0]) if key == label)


def expected_long_rows(document: dict) -> list[list[str]]:
    """The long table the document implies, written out here independently of the export:
    every option of the whole poll, then of every listed cell, numbers as ``str``, suppressed
    as empty with "suppressed" noted; a cell's share is its shown votes over its participants."""
    labels = {o["id"]: o["label"] for o in document["options"]}
    poll = str(document["poll"])

    def shown(value) -> str:
        return "" if value is None else str(value)

    rows = [
        [
            *(poll, "overall", "", "All participants", shown(document["total"]), str(o["id"])),
            *(o["label"], shown(o["votes"]), shown(o["share"]), "", "", "", ""),
            "" if o["votes"] is not None else "suppressed",
        ]
        for o in document["options"]
    ]
    cells = [
        *(("gu", c["code"], c["name"], c) for c in document["breakdown"]["gu"]),
        *(("age_band", c["band"], c["label"], c) for c in document["breakdown"]["age_band"]),
        *(("gender", c["gender"], c["gender"], c) for c in document["breakdown"]["gender"]),
        *(("channel", c["channel"], c["channel"], c) for c in document["breakdown"]["channel"]),
    ]
    for dimension, code, name, cell in cells:
        for o in cell["options"]:
            votes = o["votes"]
            share = "" if votes is None else str(round(votes / cell["total"], 4))
            note = "suppressed" if votes is None else ""
            rows.append(
                [
                    *(poll, dimension, str(code), name, str(cell["total"]), str(o["id"])),
                    *(labels[o["id"]], shown(votes), share, "", "", "", "", note),
                ]
            )
    return rows


# --- The long-format CSV -----------------------------------------------------------------------


def test_long_csv_is_one_row_per_breakdown_group_and_option_as_results_build_gives(
    city_official, voted_poll
):
    with translation.override("en"):  # the gu's and age bands' names as the file gives them
        document = results.build(
            voted_poll,
            tallies.read(voted_poll.pk),
            content_language="ko",
            evidence=evidence.published(voted_poll),
        )

    response = login(city_official).get(long_url(voted_poll))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = datetime.now(SEOUL).strftime("%Y%m%d")
    assert response["Content-Disposition"] == (
        f'attachment; filename="poll-{voted_poll.pk}-results-{today}-long.csv"'
    )
    header, *rows = csv_rows(response)
    assert header == LONG_HEADER_EN
    counts = [row for row in rows if row[1] in COUNTS]
    assert counts == expected_long_rows(document)
    yes, no = voted_poll.options.all()
    # Two options × (the whole poll, three gu, two age bands, one gender, one channel).
    assert len(counts) == 2 * 8
    pk = str(voted_poll.pk)
    overall = [pk, "overall", "", "All participants", "44", str(yes.pk), "찬성", "34", "0.7727"]
    no_weights = ["", "", "", ""]
    assert rows[0] == [*overall, *no_weights, ""]
    gangnam = [pk, "gu", GANGNAM, "Gangnam-gu", "20", str(no.pk), "반대", "6", "0.3"]
    assert [*gangnam, *no_weights, ""] in rows
    jongno = [pk, "gu", JONGNO, "Jongno-gu", "14", str(no.pk), "반대", "", ""]
    assert [*jongno, *no_weights, "suppressed"] in rows
    female = [pk, "gender", "female", "female", "31", str(yes.pk), "찬성", "25", "0.8065"]
    assert [*female, *no_weights, ""] in rows
    app = [pk, "channel", "app", "app", "44", str(yes.pk), "찬성", "34", "0.7727"]
    assert [*app, *no_weights, ""] in rows
    # A suppressed number is an empty cell wherever it is, never a number.
    for row in counts:
        assert (row[7] == "") == (row[NOTE] == "suppressed"), row
        assert (row[8] == "") == (row[7] == ""), row
    assert sum(row[NOTE] == "suppressed" for row in rows) == 8
    # Then the evidence: no population table here, so the weighting is refused, and says why.
    assert rows[len(counts) :] == [
        [pk, "weighting", "refused", "not weighted", "", "", "", "", "", "", "", "", "",
         "No population table has been imported, so the results cannot be weighted to the "
         "audience's population."],
    ]  # fmt: skip


def test_long_csv_of_a_poll_below_k_holds_no_number(city_official, poll_below_k):
    response = login(city_official).get(long_url(poll_below_k))

    assert response.status_code == 200
    header, *rows = csv_rows(response)
    assert header == LONG_HEADER_EN
    # The whole poll's options only: no breakdown is listed, and no figure is given.
    assert [row[1] for row in rows] == ["overall", "overall"]
    for row in rows:
        assert row[4] == row[7] == row[8] == ""
        assert row[NOTE].startswith("Fewer than 10 ballots counted")


# --- The workbook ------------------------------------------------------------------------------


def test_xlsx_opens_back_with_a_sheet_per_view_korean_headers_and_numbers(
    city_official, voted_poll
):
    with translation.override("ko"):
        document = results.build(voted_poll, tallies.read(voted_poll.pk), content_language="ko")
    head = board.document(poll_id=voted_poll.pk)["head"]

    response = login(city_official, "ko").get(xlsx_url(voted_poll))

    book = workbook(response)
    today = datetime.now(SEOUL).strftime("%Y%m%d")
    assert response["Content-Disposition"] == (
        f'attachment; filename="poll-{voted_poll.pk}-results-{today}.xlsx"'
    )
    assert book.sheetnames == SHEETS_KO
    assert values(book["선택지"]) == [
        ["선택지", "득표수", "득표율"],
        ["찬성", 34, 0.7727],
        ["반대", 10, 0.2273],
    ]
    assert book["선택지"]["C2"].number_format == "0.0%"
    gu = values(book["자치구별"])
    assert gu[0] == ["자치구", "코드", "참여자", "찬성", "반대"]
    expected_gu = [
        [c["name"], c["code"], c["total"], *(o["votes"] for o in c["options"])]
        for c in document["breakdown"]["gu"]
    ]
    assert gu[1:] == expected_gu
    assert gu[1][2:] == [14, None, None]  # 종로구: suppressed is empty, never 0
    assert gu[3][2:] == [20, 14, 6]
    assert book["자치구별"]["D2"].fill.fgColor.rgb.endswith("D9D9D9")  # greyed: suppressed
    assert [row[1:] for row in values(book["연령대별"])[1:]] == [[24, None, None], [20, None, None]]
    assert values(book["성별"])[0] == ["성별", "참여자", "찬성", "반대"]
    assert [row[1:] for row in values(book["성별"])[1:]] == [[31, 25, 6]]
    long = values(book["전체 수치"])
    assert long[0][:9] == [
        "투표 번호",
        "구분",
        "코드",
        "세부 구분",
        "참여자",
        "선택지 번호",
        "선택지",
        "득표수",
        "득표율",
    ]
    assert long[0][-1] == "비고"
    with translation.override("ko"):
        assert long[0] == tidy_header()
    assert len(long) == 1 + 2 * 8 + 1  # the counts, then the weighting's (refused) row
    assert long[1][4:9] == [44, voted_poll.options.first().pk, "찬성", 34, 0.7727]
    suppressed = [row for row in long[1:] if row[7] is None and row[1] in COUNTS]
    assert len(suppressed) == 8
    assert {(row[8], row[NOTE]) for row in suppressed} == {(None, "비공개(소수 보호)")}

    # The summary: the poll, the export time in Seoul, and the board's head as the board serves it.
    assert summary(book, "투표 번호") == voted_poll.pk
    assert summary(book, "투표") == "청계천 야간 개방"
    assert summary(book, "참여자") == 44
    assert summary(book, "게시판 최신 해시") == head["hash"]
    assert summary(book, "게시판 최신 배치") == head["seq"]
    assert summary(book, "게시판 최신 서명") == head["signature"]
    assert summary(book, "게시판 검증 키") == sealing.verify_key_hex()
    exported = datetime.fromisoformat(summary(book, "내보낸 일시"))
    assert exported.utcoffset() == timedelta(hours=9)
    assert abs(exported - datetime.now(UTC)) < timedelta(seconds=5)
    for label in ("시작 일시", "종료 일시"):
        assert summary(book, label).endswith("+09:00")

    method = "\n".join(row[0] for row in values(book["산출 방법"]))
    assert head["hash"] in method
    key = sealing.verify_key_hex()
    # The verifier's own command line, against this site (verifier/verify_board.py --url).
    assert f"verify_board.py --url http://testserver --poll {voted_poll.pk} --key {key}" in method
    assert summary(book, "게시판 주소") == f"http://testserver/api/v1/polls/{voted_poll.pk}/board/"
    assert f"{K}" in method and "5" in method
    assert "verify_board.py" in method


def test_xlsx_of_a_poll_below_k_has_no_figure_and_no_head(city_official, poll_below_k):
    book = workbook(login(city_official).get(xlsx_url(poll_below_k)))

    assert book.sheetnames == SHEETS_EN
    assert values(book["Options"])[1:] == [["찬성", None, None], ["반대", None, None]]
    for title in ("By gu", "By age band", "By gender"):
        assert len(values(book[title])) == 1  # the header: nothing listed
    assert summary(book, "Participants").startswith("Fewer than 10 ballots counted")
    assert summary(book, "Board head hash") == "no batch counted yet"
    numbers = [
        value
        for sheet in book.worksheets[1:]
        for row in values(sheet)[1:]
        for value in row[1:]
        if isinstance(value, (int, float))
    ]
    # The only numbers: the poll's id and the options' ids in the long sheet.
    assert set(numbers) <= {poll_below_k.pk, *poll_below_k.options.values_list("pk", flat=True)}


def test_xlsx_follows_the_admin_language(city_official, voted_poll):
    english = workbook(login(city_official, "en").get(xlsx_url(voted_poll)))
    korean = workbook(login(city_official, "ko").get(xlsx_url(voted_poll)))

    assert english.sheetnames == SHEETS_EN
    assert korean.sheetnames == SHEETS_KO
    assert values(english["Options"])[0] == ["Option", "Votes", "Share"]
    assert values(english["All figures"])[0] == LONG_HEADER_EN
    assert "These figures are the ballots counted" in values(english["Method"])[0][0]
    # The options are the city's record: in Korean as officials wrote them, in either language.
    assert values(english["Options"])[1][0] == values(korean["선택지"])[1][0] == "찬성"


def test_long_csv_follows_the_admin_language(city_official, voted_poll):
    header, *_rows = csv_rows(login(city_official, "ko").get(long_url(voted_poll)))
    assert header[:4] == ["투표 번호", "구분", "코드", "세부 구분"]


# --- Formulas and other hostile texts ----------------------------------------------------------


def test_texts_that_look_like_formulas_stay_texts(city_official):
    poll = PollFactory(
        title='=HYPERLINK("http://evil.example","열기")',
        options=["=1+1", "@SUM(A1)", "-2+3", "종\x07로"],
        results_visibility="officials",
    )
    cast_many(poll, K, [poll.options.get(label="=1+1").pk], district_id=SAJIK)
    close_and_count(poll)
    client = login(city_official)

    _header, *rows = csv_rows(client.get(long_url(poll)))
    labels = [row[6] for row in rows if row[1] == "overall"]
    assert labels == ["'=1+1", "'@SUM(A1)", "'-2+3", "종\x07로"]

    book = workbook(client.get(xlsx_url(poll)))
    assert values(book["Options"])[1:3] == [["'=1+1", 10, 1.0], ["'@SUM(A1)", 0, 0.0]]
    # XML cannot carry the bell character: it is dropped, not a failed export.
    assert values(book["Options"])[4][0] == "종로"
    assert summary(book, "Poll") == '\'=HYPERLINK("http://evil.example","열기")'
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert all(cell.data_type == "s" for cell in cells if isinstance(cell.value, str)), (
        "every text is stored as a text"
    )


# --- Who may have them -------------------------------------------------------------------------


def test_exports_are_refused_where_the_tables_csv_is(voted_poll):
    jongno = login(OfficialFactory(role="official", gu=JONGNO))
    no_perms = login(OfficialFactory())  # staff, but not in the "official" group
    anonymous = Client()
    inside = PollFactory(title="종로 정책", districts=[SAJIK])
    reaching_out = PollFactory(title="넓은 투표", districts=[SAJIK, GANGNAM])

    for url in (long_url, xlsx_url):
        # A poll reaching beyond the official's gu (all of Seoul, or into 강남구) is city-wide
        # work: it does not exist for a gu's official, as on the results page.
        for poll in (voted_poll, reaching_out):
            response = jongno.get(url(poll))
            assert response.status_code == 404
            assert poll.title not in response.content.decode()
        assert jongno.get(url(inside)).status_code == 200
        assert no_perms.get(url(voted_poll)).status_code == 403
        response = anonymous.get(url(voted_poll))
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")
    assert jongno.get(f"/admin/voting/poll/{voted_poll.pk}/results/csv/").status_code == 404


def test_results_page_and_change_page_link_to_the_files(city_official, voted_poll):
    client = login(city_official)
    for page in (
        f"/admin/voting/poll/{voted_poll.pk}/results/",
        f"/admin/voting/poll/{voted_poll.pk}/change/",
    ):
        html = client.get(page).content.decode()
        assert f'href="{long_url(voted_poll)}"' in html, page
        assert f'href="{xlsx_url(voted_poll)}"' in html, page


def test_file_names_carry_the_date_in_seoul(city_official, voted_poll, clock):
    """At 15:30 UTC it is already the next day in Seoul: the file is dated by Seoul's day."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    clock.move_to(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 15, 30, tzinfo=UTC))
    seoul_day = (tomorrow + timedelta(days=1)).strftime("%Y%m%d")

    response = login(city_official).get(xlsx_url(voted_poll))

    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="poll-\d+-results-\d{8}\.xlsx"', disposition)
    assert f"-{seoul_day}.xlsx" in disposition
    assert summary(workbook(response), "Exported at").startswith(
        f"{tomorrow + timedelta(days=1):%Y-%m-%d}T00:30:00+09:00"
    )


# --- The evidence, ranked and score questions --------------------------------------------------


def long_rows_of(client, poll, breakdown: str) -> list[list[str]]:
    _header, *rows = csv_rows(client.get(long_url(poll)))
    return [row for row in rows if row[1] == breakdown]


def test_weighted_shares_and_coverage_are_in_both_files_as_the_api_gives_them(city_official):
    population_table()
    poll = cast_weighted_poll(results_visibility="officials")
    close_and_count(poll)
    with translation.override("en"):
        shown = evidence.published(poll)
    client = login(city_official)

    book = workbook(client.get(xlsx_url(poll)))

    assert book.sheetnames == [*SHEETS_EN[:2], "Weighted results", "Coverage", *SHEETS_EN[2:]]
    assert values(book["Weighted results"]) == [
        ["Option", "Share", "Weighted share", "Margin of error (±, 95 percent)"],
        *(
            [label, o["raw_share"], o["weighted_share"], o["margin_of_error"]]
            for label, o in zip(("찬성", "반대"), shown["weighted"]["options"], strict=True)
        ),
    ]
    assert values(book["Weighted results"])[1][1:3] == [0.6, 0.5417]
    assert book["Weighted results"]["C2"].number_format == "0.0%"
    coverage = values(book["Coverage"])
    assert coverage[0] == ["Breakdown", "Code", "Group", "Population", "Participants", "Turnout"]
    assert coverage[1] == ["The whole audience", None, "The whole audience", 8000, 100, 0.0125]
    assert ["Gu", JONGNO, "Jongno-gu", 4000, 64, 0.016] in coverage
    assert ["Sex", "female", "female", 4000, 50, 0.0125] in coverage
    assert summary(book, "Weighting") == "weighted to the population"
    assert (
        summary(book, "Effective sample size (Kish)")
        == (shown["weighted"]["effective_sample_size"])
    )
    assert summary(book, "Population figures") == "demonstration figures, not official statistics"
    method = "\n".join(row[0] for row in values(book["Method"]))
    assert "margin of error is the 95 percent range of chance variation only" in method

    overall = long_rows_of(client, poll, "overall")
    assert [row[8:11] for row in overall] == [
        [str(o["raw_share"]), str(o["weighted_share"]), str(o["margin_of_error"])]
        for o in shown["weighted"]["options"]
    ]
    by_gu = long_rows_of(client, poll, "coverage_gu")
    assert by_gu[0][2:5] == [JONGNO, "Jongno-gu", "64"]
    assert by_gu[0][11:13] == ["4000", "0.016"]


def test_a_withheld_weighted_share_is_an_empty_grey_cell_with_a_note(city_official):
    """Hand-made evidence (as the counter stores it) with 기권's weighted share withheld."""
    poll = PollFactory(options=["찬성", "반대"], results_visibility="officials")
    cast_many(poll, K, district_id=SAJIK)
    close_and_count(poll)
    yes, no = poll.options.all()
    stored = CountState.objects.get(poll=poll)
    stored.evidence = {
        "status": "weighted",
        "refusal": None,
        "population_source": {"title": "표", "reference_date": "2026-06-30", "demo": False},
        "weighted": {
            "ballots": K, "weighted_ballots": K, "unknown_ballots": 0, "outside_ballots": 0,
            "effective_sample_size": 9.5, "design_effect": 1.05, "cap": 5.0, "trimmed": False,
            "options": [
                {"id": yes.pk, "raw_share": 0.5, "weighted_share": 0.52, "margin_of_error": 0.3},
                {"id": no.pk, "raw_share": 0.5, "weighted_share": None, "margin_of_error": None},
            ],
        },
        "coverage": None,
    }  # fmt: skip
    stored.save()
    client = login(city_official)

    book = workbook(client.get(xlsx_url(poll)))

    assert values(book["Weighted results"])[2] == ["반대", 0.5, None, None]
    assert book["Weighted results"]["C3"].fill.fgColor.rgb.endswith("D9D9D9")
    # In the long sheet only the withheld numbers are grey, not the figures a row has no use for.
    long = book["All figures"]
    assert [long[f"{column}3"].value for column in "JK"] == [None, None]
    assert all(long[f"{column}3"].fill.fgColor.rgb.endswith("D9D9D9") for column in "JK")
    assert not long["L3"].fill.fgColor.rgb.endswith("D9D9D9")  # no population for a count row
    assert not long["J2"].fill.fgColor.rgb.endswith("D9D9D9")  # 찬성's is shown
    assert long_rows_of(client, poll, "overall")[1][9:] == [
        "", "", "", "", "weighted share withheld"
    ]  # fmt: skip


def test_a_ranked_poll_has_its_rounds_borda_and_pairwise_sheets(city_official):
    """30 ballots: A>B>C 12, B>C 10, C>B 8. Round 1: A 12, B 10, C 8 (no majority of 30); C is
    out and its 8 go to B: round 2, B 18 of 30, elected. Borda (2, 1, 0 points): A 24, B 40,
    C 26. Head to head, B beats A 18 to 12."""
    poll = PollFactory(
        kind="ranked", min_choices=1, max_choices=3, options=list("ABC"),
        results_visibility="officials",
    )  # fmt: skip
    a, b, c = (option.pk for option in poll.options.all())
    for n, ranking in ((12, [a, b, c]), (10, [b, c]), (8, [c, b])):
        for _ in range(n):
            casting.cast_ballot(poll=poll, voter=CitizenFactory(), ranking=ranking)
    close_and_count(poll)
    client = login(city_official)

    book = workbook(client.get(xlsx_url(poll)))

    names = book.sheetnames
    assert names[2:5] == ["Runoff rounds", "Borda count", "Pairwise comparison"]
    rounds = values(book["Runoff rounds"])
    assert rounds[0][:6] == ["Round", "Continuing ballots", "Exhausted ballots", "A", "B", "C"]
    assert rounds[1] == [1, 30, 0, 12, 10, 8, "C", None, None]
    assert rounds[2][:6] == [2, 30, 0, 12, 18, None]
    assert rounds[2][7] == "B"
    assert values(book["Borda count"])[1:] == [["A", 12, 24], ["B", 10, 40], ["C", 8, 26]]
    pairwise = values(book["Pairwise comparison"])
    assert pairwise[1] == ["A", None, 12, 12]
    assert pairwise[2][:2] == ["B", 18]
    assert summary(book, "Runoff winner") == "B"

    transfers = long_rows_of(client, poll, "transfer")
    assert [row[2:8] for row in transfers] == [["1", "C", "", str(b), "B", "8"]]
    first = long_rows_of(client, poll, "first_preference")
    assert [(row[6], row[7], row[8]) for row in first] == [
        ("A", "12", "0.4"), ("B", "10", "0.3333"), ("C", "8", "0.2667")
    ]  # fmt: skip


def test_a_score_poll_has_its_distribution_sheet(city_official):
    """X: 5 from 6 ballots, 3 from 6 (mean 4, median 4); Y: 1 from 6, 4 from 2, and 4
    abstentions (mean 1.75, median 1)."""
    poll = PollFactory(
        kind="score", options=["X", "Y"], results_visibility="officials", max_choices=2
    )
    x, y = (option.pk for option in poll.options.all())
    ballots = [[(x, 5), (y, 1)]] * 6 + [[(x, 3), (y, 4)]] * 2 + [[(x, 3)]] * 4
    for scores in ballots:
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), scores=scores)
    close_and_count(poll)
    client = login(city_official)

    book = workbook(client.get(xlsx_url(poll)))

    sheet = values(book["Score distribution"])
    assert sheet[0] == [
        "Option", "Raters", "Abstentions", "Mean", "Median",
        "Score 1", "Score 2", "Score 3", "Score 4", "Score 5",
    ]  # fmt: skip
    assert sheet[1:] == [
        ["X", 12, 0, 4.0, 4.0, 0, 0, 6, 0, 6],
        ["Y", 8, 4, 1.75, 1.0, 6, 0, 0, 2, 0],
    ]
    assert summary(book, "Weighting") == "not weighted (score questions)"
    scores = long_rows_of(client, poll, "score")
    assert ["5", "Score 5", "12", str(x), "X", "6", "0.5"] in [row[2:9] for row in scores]
