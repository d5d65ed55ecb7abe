"""Results through HTTP: who sees them when, their shape, and what is withheld.

Casting seals an envelope; totals move only when the counter counts a batch of at least k
(``BALLOT_BATCH_MIN``) ballots, and breakdowns are published once, when the poll is final, for
cells of at least k (voting/counting.py). Until a batch is counted — for good where the whole
turnout stays below k — a results document is ``"withheld"`` with every number null. Inside the
published cells, option votes below ``RESULTS_MIN_CELL`` are withheld so that none can be worked
out from the others (voting/results.py ``_suppress_table``).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from districts.models import District
from tests.ballot_box import assert_box_consistent, cast_many, close_and_count, count_now
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SEOCHO, YEOKSAM1
from tests.factories import CitizenFactory, OfficialFactory, PollFactory, born
from voting import counting, results, services

# Ages are this year's: the clock stands still, so the year cannot turn mid-test.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

K = 10  # BALLOT_BATCH_MIN, pinned for this module: the expected documents are written for it

NOTE_EN = f"Fewer than {K} ballots counted: totals appear once at least {K} are."


@pytest.fixture(autouse=True)
def _k(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.RESULTS_MIN_CELL = 5


def results_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/results/"


def vote(poll, option, n: int = 1, *, district=SAJIK, age=35, gender="female") -> None:
    """``n`` new citizens of ``district``, aged ``age``, vote for ``option``."""
    cast_many(
        poll,
        n,
        [option.pk],
        district_id=district,
        birth_year=None if age is None else born(age),
        gender=gender,
    )


def close(poll) -> None:
    """Close ``poll`` (its close time a minute ago) without counting."""
    now = timezone.now()
    type(poll).objects.filter(pk=poll.pk).update(
        opens_at=now - timedelta(days=8), closes_at=now - timedelta(minutes=1)
    )
    poll.refresh_from_db()


def hidden(option) -> dict:
    return {"id": option.pk, "votes": None, "suppressed": True}


def shown(option, votes: int) -> dict:
    return {"id": option.pk, "votes": votes, "suppressed": False}


def assert_withheld(body: dict) -> None:
    """No total, no option number, no breakdown: only the reason why."""
    assert body["withheld"] is True
    assert body["total"] is None
    assert body["batch_min"] == K
    assert isinstance(body["note"], str) and body["note"]
    assert all(o["votes"] is None and o["share"] is None for o in body["options"])
    assert body["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}


def assert_no_row_is_withheld_whole(body: dict) -> None:
    """Cells not published are not listed: every listed cell has its total."""
    for cells in body["breakdown"].values():
        for cell in cells:
            assert cell["suppressed"] is False, cell
            assert cell["total"] is not None and cell["total"] >= K, cell


@pytest.fixture
def citizen_api(client_for):
    return client_for(CitizenFactory(district_id=SAJIK))


@pytest.fixture
def official_api(client_for):
    return client_for(OfficialFactory(role="official"))  # the role lets officials see polls


# --- visibility ----------------------------------------------------------------------------------


def test_live_results_are_visible_to_citizens_while_open_once_a_batch_is_counted(citizen_api):
    poll = PollFactory(results_visibility="live")
    vote(poll, poll.options.first(), 2 * K)

    before = citizen_api.get(results_url(poll))
    count_now()
    after = citizen_api.get(results_url(poll))

    assert before.status_code == 200
    assert before.json()["status"] == "open"
    assert_withheld(before.json())
    assert after.status_code == 200
    assert after.json()["status"] == "open"
    # While open the newest k stay sealed, so the last change at close is k ballots too.
    assert after.json()["total"] == K
    assert after.json()["withheld"] is False


def test_live_results_of_an_upcoming_poll_are_hidden(citizen_api):
    now = timezone.now()
    poll = PollFactory(
        results_visibility="live", opens_at=now + timedelta(days=1), closes_at=now + timedelta(2)
    )
    response = citizen_api.get(results_url(poll))
    assert response.status_code == 403
    assert response.json()["code"] == "results_hidden"


def test_after_close_results_are_hidden_while_open_then_visible(citizen_api):
    poll = PollFactory(results_visibility="after_close")
    vote(poll, poll.options.first(), 2 * K)
    count_now()

    while_open = citizen_api.get(results_url(poll))
    close_and_count(poll)
    after = citizen_api.get(results_url(poll))

    assert while_open.status_code == 403
    assert while_open.json()["code"] == "results_hidden"
    assert isinstance(while_open.json()["detail"], str)
    assert "total" not in while_open.json()
    assert after.status_code == 200
    assert after.json()["status"] == "closed"
    assert after.json()["total"] == 2 * K


def test_after_close_is_the_default():
    assert PollFactory().results_visibility == "after_close"


def test_after_close_results_visible_once_closed_early(citizen_api, official):
    poll = PollFactory()
    services.close_poll(poll=poll, by=official)
    assert citizen_api.get(results_url(poll)).status_code == 200


def test_officials_results_are_hidden_until_published(citizen_api, official):
    poll = PollFactory(results_visibility="officials")
    vote(poll, poll.options.first(), 2 * K)
    count_now()

    assert citizen_api.get(results_url(poll)).json()["code"] == "results_hidden"
    close_and_count(poll)
    closed_unpublished = citizen_api.get(results_url(poll))
    services.publish_results(poll=poll, by=official)
    published = citizen_api.get(results_url(poll))

    assert closed_unpublished.status_code == 403
    assert closed_unpublished.json()["code"] == "results_hidden"
    assert published.status_code == 200
    assert published.json()["total"] == 2 * K


def test_publishing_twice_keeps_the_first_time(official):
    poll = PollFactory(results_visibility="officials")
    close(poll)
    first = services.publish_results(poll=poll, by=official).results_published_at
    assert services.publish_results(poll=poll, by=official).results_published_at == first


@pytest.mark.parametrize("visibility", ["live", "after_close", "officials"])
@pytest.mark.parametrize("state", ["upcoming", "open", "closed"])
def test_officials_always_see_results(official_api, visibility, state):
    now = timezone.now()
    window = {
        "upcoming": (now + timedelta(days=1), now + timedelta(days=2)),
        "open": (now - timedelta(days=1), now + timedelta(days=2)),
        "closed": (now - timedelta(days=2), now - timedelta(days=1)),
    }[state]
    poll = PollFactory(results_visibility=visibility, opens_at=window[0], closes_at=window[1])

    response = official_api.get(results_url(poll))

    assert response.status_code == 200
    assert response.json()["status"] == state


def test_results_need_authentication(api):
    poll = PollFactory(results_visibility="live")
    response = api.get(results_url(poll))
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_required"


# --- withheld until k are counted ----------------------------------------------------------------


def test_results_without_ballots(citizen_api):
    poll = PollFactory(results_visibility="live")
    yes, no = poll.options.all()

    body = citizen_api.get(results_url(poll), HTTP_ACCEPT_LANGUAGE="en").json()

    assert body == {
        "poll": poll.pk,
        "status": "open",
        "kind": "single",
        "total": None,
        "withheld": True,
        "batch_min": K,
        "note": NOTE_EN,
        "options": [
            {"id": yes.pk, "label": "찬성", "votes": None, "share": None},
            {"id": no.pk, "label": "반대", "votes": None, "share": None},
        ],
        "breakdown": {"gu": [], "age_band": [], "gender": [], "channel": []},
        "ranked": None,
        "scores": None,
        "evidence": None,
    }


def test_a_watcher_learns_nothing_until_k_ballots_are_counted(citizen_api):
    """A citizen refreshing a live poll's results while ballots come in: 2k - 1 sealed ballots
    (one short of a batch) show no number at all; the 2k-th lets the counter count k."""
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    for i in range(2 * K - 1):
        vote(poll, a if i % 2 else b, age=20 + i)
        assert_withheld(citizen_api.get(results_url(poll)).json())
    assert count_now() == 0
    assert_withheld(citizen_api.get(results_url(poll)).json())

    vote(poll, a)
    assert count_now() == K
    body = citizen_api.get(results_url(poll)).json()

    # The oldest k are counted: b, a, b, a, ... (5 each).
    assert (body["withheld"], body["note"], body["total"]) == (False, None, K)
    assert [(o["votes"], o["share"]) for o in body["options"]] == [(5, 0.5), (5, 0.5)]
    # Breakdowns wait for the close.
    assert body["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}


def test_a_poll_whose_turnout_stays_below_k_never_shows_a_total(citizen_api, official_api):
    """k - 1 citizens vote; the poll closes and the counter finishes it. Neither a citizen nor
    an official ever sees a number: the envelopes stay sealed."""
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, _b = poll.options.all()
    vote(poll, a, K - 1)

    assert count_now() == 0
    assert_withheld(citizen_api.get(results_url(poll)).json())
    assert close_and_count(poll) == 0

    for client in (citizen_api, official_api):
        body = client.get(results_url(poll)).json()
        assert body["status"] == "closed"
        assert_withheld(body)
    assert count_now() == 0  # final: nothing is ever counted later
    assert_box_consistent([poll.pk])


def test_breakdowns_appear_only_once_the_poll_is_final(citizen_api):
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    vote(poll, a, 15, district=SAJIK)
    vote(poll, b, 15, district=YEOKSAM1)

    count_now()
    open_body = citizen_api.get(results_url(poll)).json()
    close_and_count(poll)
    final_body = citizen_api.get(results_url(poll)).json()

    assert open_body["total"] == 3 * K - K
    assert open_body["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}
    assert final_body["total"] == 30
    assert [(c["code"], c["total"]) for c in final_body["breakdown"]["gu"]] == [
        (JONGNO, 15),
        (GANGNAM, 15),
    ]
    assert_no_row_is_withheld_whole(final_body)
    assert_box_consistent([poll.pk])


# --- shape of a final poll -----------------------------------------------------------------------


def test_a_final_poll_is_published_exactly(client_for):
    """44 ballots, closed and counted. Every dimension lists only cells of at least k, and none
    whose complement (the total minus the listed cells) would be a group below k; inside the
    listed cells, option votes below 5 are withheld with whatever would give them away."""
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    vote(poll, a, 10, district=SAJIK, age=35, gender="female")
    vote(poll, b, 4, district=SAJIK, age=35, gender="male")
    vote(poll, a, 8, district=YEOKSAM1, age=55, gender="female")
    vote(poll, b, 6, district=YEOKSAM1, age=55, gender="female")
    vote(poll, a, 6, district=YEOKSAM1, age=55, gender="male")
    vote(poll, a, 3, district=SEOCHO, age=35, gender="other")
    vote(poll, a, 7, district=SEOCHO, age=35, gender="female")
    close_and_count(poll)
    client = client_for(CitizenFactory(district_id=SAJIK))

    body = client.get(results_url(poll), HTTP_ACCEPT_LANGUAGE="en").json()
    # The evidence (voting/evidence.py) is tested in tests/voting/test_evidence.py.
    assert body.pop("evidence")["status"] in ("weighted", "refused")

    names = dict(
        District.objects.filter(code__in=[JONGNO, GANGNAM, SEOCHO]).values_list("code", "name_en")
    )
    assert body == {
        "poll": poll.pk,
        "status": "closed",
        "kind": "single",
        "total": 44,
        "withheld": False,
        "batch_min": K,
        "note": None,
        "options": [
            {"id": a.pk, "label": "A", "votes": 34, "share": 0.7727},
            {"id": b.pk, "label": "B", "votes": 10, "share": 0.2273},
        ],
        "breakdown": {
            # 종로구 A 10 / B 4 and 서초구 A 10 / B 0: each has a number below 5, so its other
            # number goes too. 강남구's A 14 / B 6 stay: each column has two withheld already.
            "gu": [
                {
                    "code": JONGNO,
                    "name": names[JONGNO],
                    "total": 14,
                    "suppressed": False,
                    "options": [hidden(a), hidden(b)],
                },
                {
                    "code": SEOCHO,
                    "name": names[SEOCHO],
                    "total": 10,
                    "suppressed": False,
                    "options": [hidden(a), hidden(b)],
                },
                {
                    "code": GANGNAM,
                    "name": names[GANGNAM],
                    "total": 20,
                    "suppressed": False,
                    "options": [shown(a, 14), shown(b, 6)],
                },
            ],
            # 30s A 20 / B 4: withheld in its row. 50s A 14 / B 6 would give both away
            # through the option totals (34 - 14, 10 - 6): withheld in the columns.
            "age_band": [
                {
                    "band": 30,
                    "label": "30s",
                    "total": 24,
                    "suppressed": False,
                    "options": [hidden(a), hidden(b)],
                },
                {
                    "band": 50,
                    "label": "50s",
                    "total": 20,
                    "suppressed": False,
                    "options": [hidden(a), hidden(b)],
                },
            ],
            # female 31, male 10, other 3. "other" is below k and not listed; listing male
            # would leave 44 - 31 - 10 = 3 ballots, the "other" group, to be worked out: male
            # (the smallest listed cell) is withheld too, so the remainder is 13.
            "gender": [
                {
                    "gender": "female",
                    "total": 31,
                    "suppressed": False,
                    "options": [shown(a, 25), shown(b, 6)],
                },
            ],
            # Every ballot came through the app: one cell, the whole poll.
            "channel": [
                {
                    "channel": "app",
                    "total": 44,
                    "suppressed": False,
                    "options": [shown(a, 34), shown(b, 10)],
                },
            ],
        },
        "ranked": None,
        "scores": None,
    }
    assert_box_consistent([poll.pk])


def test_large_cells_are_shown(client_for):
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    for i in range(20):
        vote(poll, a if i % 2 else b, district=SAJIK if i < 10 else YEOKSAM1, age=35)
    close_and_count(poll)

    body = client_for(CitizenFactory()).get(results_url(poll)).json()

    assert [(c["code"], c["total"]) for c in body["breakdown"]["gu"]] == [
        (JONGNO, 10),
        (GANGNAM, 10),
    ]
    for cell in body["breakdown"]["gu"]:
        assert cell["options"] == [shown(a, 5), shown(b, 5)]
        assert cell["suppressed"] is False
    assert body["breakdown"]["age_band"] == [
        {
            "band": 30,
            "label": body["breakdown"]["age_band"][0]["label"],
            "total": 20,
            "suppressed": False,
            "options": [shown(a, 10), shown(b, 10)],
        }
    ]
    assert body["breakdown"]["gender"][0]["gender"] == "female"


def test_a_withheld_number_cannot_be_derived_from_the_option_totals(client_for):
    """종로구 A 5 / B 5 and 강남구 A 8 / B 2: 강남구's B is small and withheld with its A. Were
    종로구's numbers shown, 강남구's would follow from the totals (A 13 - 5, B 7 - 5)."""
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    for option, n in ((a, 5), (b, 5)):
        vote(poll, option, n, district=SAJIK, age=35)
    for option, n in ((a, 8), (b, 2)):
        vote(poll, option, n, district=YEOKSAM1, age=55)
    close_and_count(poll)

    body = client_for(CitizenFactory()).get(results_url(poll)).json()

    assert [o["votes"] for o in body["options"]] == [13, 7]
    for dimension in ("gu", "age_band"):
        cells = body["breakdown"][dimension]
        assert [c["total"] for c in cells] == [10, 10]
        for cell in cells:
            assert cell["options"] == [hidden(a), hidden(b)], (dimension, cell)


def test_shown_numbers_never_give_away_a_withheld_one(client_for):
    """Three gu: every withheld option count has another withheld one in its row and column."""
    poll = PollFactory(results_visibility="live", options=["A", "B", "C"])
    a, b, c = poll.options.all()
    plan = {SAJIK: (6, 6, 6), YEOKSAM1: (7, 6, 1), SEOCHO: (9, 9, 9)}
    for district, counts in plan.items():
        for option, n in zip((a, b, c), counts, strict=True):
            vote(poll, option, n, district=district)
    close_and_count(poll)

    cells = client_for(CitizenFactory()).get(results_url(poll)).json()["breakdown"]["gu"]

    grid = {cell["code"]: [o["votes"] for o in cell["options"]] for cell in cells}
    assert set(grid) == {JONGNO, GANGNAM, SEOCHO}
    assert all(cell["total"] is not None for cell in cells)
    for row in grid.values():
        assert row.count(None) != 1
    for column in zip(*grid.values(), strict=True):
        assert column.count(None) != 1
    # 강남구's C (1) is withheld, so is at least one other number in its row and column.
    assert grid[GANGNAM][2] is None


def test_officials_get_the_same_withholding_as_citizens(official_api, citizen_api):
    """12 ballots in 종로구 and 3 in 강남구: 종로구's cell is large, but with it listed the total
    would give away 강남구's 3; an official is shown no more than a citizen."""
    poll = PollFactory(results_visibility="live")
    yes, no = poll.options.all()
    vote(poll, yes, 12, district=SAJIK)
    vote(poll, no, 3, district=YEOKSAM1)
    close_and_count(poll)

    official_body = official_api.get(results_url(poll)).json()

    assert official_body == citizen_api.get(results_url(poll)).json()
    assert official_body["total"] == 15
    assert official_body["breakdown"]["gu"] == []
    assert_no_row_is_withheld_whole(official_body)


def test_unknown_cells_are_labelled(client_for):
    poll = PollFactory(results_visibility="live")
    yes = poll.options.first()
    cast_many(poll, K, [yes.pk])  # citizens who told nothing about themselves
    close_and_count(poll)

    body = client_for(CitizenFactory()).get(results_url(poll), HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["breakdown"]["gu"][0]["code"] is None
    assert body["breakdown"]["gu"][0]["name"] == "unknown"
    assert body["breakdown"]["gu"][0]["total"] == K
    assert body["breakdown"]["age_band"][0]["band"] is None
    assert body["breakdown"]["gender"][0]["gender"] == "undisclosed"


def test_multiple_choice_shares_are_of_ballots(client_for):
    poll = PollFactory(
        results_visibility="live", kind="multiple", min_choices=1, max_choices=2, options=list("AB")
    )
    a, b = poll.options.all()
    cast_many(poll, 2 * K, lambda i: [a.pk, b.pk] if i % 2 else [a.pk])
    close_and_count(poll)

    body = client_for(CitizenFactory()).get(results_url(poll)).json()

    assert body["total"] == 2 * K
    assert [(o["votes"], o["share"]) for o in body["options"]] == [(2 * K, 1.0), (K, 0.5)]


def _results_queries(client, poll) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(results_url(poll))
    assert response.status_code == 200
    assert response.json()["breakdown"]["gu"]
    return len(ctx.captured_queries)


def test_reading_results_costs_the_same_at_20_and_60_ballots(client_for):
    client = client_for(CitizenFactory())
    polls = []
    for n in (20, 60):
        poll = PollFactory(results_visibility="live", options=["A", "B", "C"])
        options = list(poll.options.all())
        cast_many(
            poll,
            n,
            lambda i, options=options: [options[i % 3].pk],
            district_id=SAJIK,
            birth_year=born(30),
        )
        polls.append(poll)
    for poll in polls:
        close_and_count(poll)

    assert client.get("/api/v1/me/").status_code == 200  # warms authentication's cache
    # Each poll's first read builds its document (later ones come from the cache:
    # tests/voting/test_results_cache.py).
    few, many = (_results_queries(client, poll) for poll in polls)

    assert_box_consistent([poll.pk for poll in polls])
    assert few == many
    # the poll with its count's progress; tallies; options; district names
    assert many == 4


# --- counting.publishable_cells: which cells of a dimension are published ------------------------


def test_cells_of_at_least_k_are_published():
    assert counting.publishable_cells({"jongno": K, "gangnam": 25}, total=K + 25) == [
        "gangnam",
        "jongno",
    ]


def test_cells_below_k_are_not_published():
    # The two small cells add up to k: left out together, they give nothing away.
    assert counting.publishable_cells({"a": 30, "b": 6, "c": 4}, total=40) == ["a"]


def test_a_pair_with_a_small_cell_publishes_nothing():
    """12 in 종로구, 2 in 강남구: listing 종로구 would give 강남구's 2 away (14 - 12)."""
    assert counting.publishable_cells({"jongno": 12, "gangnam": 2}, total=14) == []


def test_the_smallest_shown_cell_is_withheld_while_the_remainder_is_below_k():
    assert counting.publishable_cells({"a": 11, "b": 20, "c": 30, "d": 3}, total=64) == [
        "b",
        "c",
    ]


def test_ties_among_the_smallest_break_by_value():
    assert counting.publishable_cells({"b": K, "a": K, "c": K, "d": 1}, total=3 * K + 1) == [
        "b",
        "c",
    ]


def test_ballots_outside_every_cell_count_in_the_remainder():
    """The total is the poll's ballots: the remainder is what the listed cells leave, whether
    or not it falls in cells given here."""
    assert counting.publishable_cells({"a": 20}, total=25) == []
    assert counting.publishable_cells({"a": 20}, total=20 + K) == ["a"]


def test_a_remainder_of_exactly_k_or_nothing_is_fine():
    assert counting.publishable_cells({"a": 20, "b": 5, "c": 5}, total=30) == ["a"]
    assert counting.publishable_cells({"a": 20, "b": K}, total=20 + K) == ["a", "b"]


def test_a_lone_cell_is_published_from_k_ballots():
    assert counting.publishable_cells({"a": K}, total=K) == ["a"]
    assert counting.publishable_cells({"a": K - 1}, total=K - 1) == []


def test_no_cells():
    assert counting.publishable_cells({}, total=0) == []


def test_the_minimum_is_the_batch_minimum(settings):
    settings.BALLOT_BATCH_MIN = 5
    assert counting.publishable_cells({"a": 5, "b": 20}, total=25) == ["a", "b"]
    settings.BALLOT_BATCH_MIN = 10
    assert counting.publishable_cells({"a": 5, "b": 20}, total=25) == []


@given(
    cells=st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 40), max_size=8),
    outside=st.integers(0, 30),
)
def test_published_cells_never_leave_a_small_group_to_be_worked_out(cells, outside):
    """Whatever the cells: each published one has at least k ballots, what they leave over is
    nothing or at least k, and a cell of at least k is held back only when that needs it."""
    total = sum(cells.values()) + outside
    published = counting.publishable_cells(cells, total=total)

    assert published == sorted(published)
    assert all(cells[value] >= K for value in published)
    rest = total - sum(cells[value] for value in published)
    if published:  # (with nothing listed, the remainder is the poll's total, public anyway)
        assert rest == 0 or rest >= K
    large = [value for value, n in cells.items() if n >= K]
    rest_of_large = total - sum(cells[value] for value in large)
    if not large or rest_of_large == 0 or rest_of_large >= K:
        assert published == sorted(large)
    else:  # one withheld is always enough: it adds at least k to a remainder above 0
        assert set(published) < set(large)
        assert len(published) == len(large) - 1


# --- results._suppress_table: option votes inside the published cells ----------------------------


def suppress_row(numbers: dict[int, int]) -> dict[int, int | None]:
    """One cell's votes per option, as ``_suppress_table`` withholds them."""
    return results._suppress_table({"cell": numbers}, withheld_rows=set())["cell"]


def test_option_votes_of_5_or_more_are_kept():
    assert suppress_row({1: 5, 2: 12, 3: 40}) == {1: 5, 2: 12, 3: 40}


def test_a_small_vote_count_is_withheld_with_the_next_smallest():
    assert suppress_row({1: 12, 2: 2, 3: 30}) == {1: None, 2: None, 3: 30}


def test_the_complement_of_a_pair_is_withheld():
    assert suppress_row({1: 12, 2: 2}) == {1: None, 2: None}


def test_two_small_vote_counts_need_no_complement():
    assert suppress_row({1: 1, 2: 4, 3: 30, 4: 7}) == {1: None, 2: None, 3: 30, 4: 7}


def test_zero_votes_are_small():
    assert suppress_row({1: 0, 2: 0}) == {1: None, 2: None}


def test_a_lone_option_count():
    assert suppress_row({1: 4}) == {1: None}
    assert suppress_row({1: 5}) == {1: 5}


def test_ties_break_by_option():
    assert suppress_row({2: 9, 1: 9, 3: 1}) == {1: None, 2: 9, 3: None}


def test_the_option_threshold_is_results_min_cell(settings):
    settings.RESULTS_MIN_CELL = 10
    assert suppress_row({1: 9, 2: 20}) == {1: None, 2: None}
    settings.RESULTS_MIN_CELL = 3
    assert suppress_row({1: 3, 2: 20}) == {1: 3, 2: 20}


def test_a_column_withholds_as_a_row_does():
    """Two cells: 종로구 A 10 / B 4, 강남구 A 14 / B 6. 종로구's B is small and its A goes with
    it; the option totals would then give both away, so 강남구's go too."""
    table = {"jongno": {1: 10, 2: 4}, "gangnam": {1: 14, 2: 6}}
    assert results._suppress_table(table, withheld_rows=set()) == {
        "jongno": {1: None, 2: None},
        "gangnam": {1: None, 2: None},
    }


def test_a_withheld_row_is_withheld_whole():
    table = {"a": {1: 20, 2: 20}, "b": {1: 30, 2: 40}, "c": {1: 50, 2: 60}}
    withheld = results._suppress_table(table, withheld_rows={"a"})
    assert withheld["a"] == {1: None, 2: None}
    for column in (1, 2):
        assert [withheld[row][column] for row in table].count(None) >= 2
