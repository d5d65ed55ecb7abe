"""Results through HTTP: who sees them when, their shape, and small-cell suppression."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from districts.models import District
from tests.factories import CitizenFactory, PollFactory
from voting import casting, results, services, tallies

pytestmark = pytest.mark.django_db

JONGNO = "1111000000"
SAJIK = "1111053000"  # 종로구 사직동
GANGNAM = "1168000000"
YEOKSAM1 = "1168064000"  # 강남구 역삼1동
SEOCHO = "1165000000"

THIS_YEAR = timezone.localdate().year


def results_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/results/"


def vote(poll, option, *, district=SAJIK, age=35, gender="female") -> None:
    citizen = CitizenFactory(district_id=district, birth_year=THIS_YEAR - age, gender=gender)
    casting.cast_ballot(poll=poll, voter=citizen, option_ids=[option.pk])


def close(poll) -> None:
    now = timezone.now()
    type(poll).objects.filter(pk=poll.pk).update(
        opens_at=now - timedelta(days=8), closes_at=now - timedelta(minutes=1)
    )
    poll.refresh_from_db()


def hidden(option) -> dict:
    return {"id": option.pk, "votes": None, "suppressed": True}


def shown(option, votes: int) -> dict:
    return {"id": option.pk, "votes": votes, "suppressed": False}


@pytest.fixture
def citizen_api(client_for):
    return client_for(CitizenFactory(district_id=SAJIK))


@pytest.fixture
def official_api(official, client_for):
    from accounts.roles import ensure_official_group

    official.groups.add(ensure_official_group())  # the role that lets officials see polls
    return client_for(official)


# --- visibility ----------------------------------------------------------------------------------


def test_live_results_are_visible_to_citizens_while_open(citizen_api):
    poll = PollFactory(results_visibility="live")
    vote(poll, poll.options.first())

    response = citizen_api.get(results_url(poll))

    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["total"] == 1


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
    vote(poll, poll.options.first())

    while_open = citizen_api.get(results_url(poll))
    close(poll)
    after = citizen_api.get(results_url(poll))

    assert while_open.status_code == 403
    assert while_open.json()["code"] == "results_hidden"
    assert isinstance(while_open.json()["detail"], str)
    assert "total" not in while_open.json()
    assert after.status_code == 200
    assert after.json()["status"] == "closed"
    assert after.json()["total"] == 1


def test_after_close_is_the_default():
    assert PollFactory().results_visibility == "after_close"


def test_after_close_results_visible_once_closed_early(citizen_api, official):
    poll = PollFactory()
    services.close_poll(poll=poll, by=official)
    assert citizen_api.get(results_url(poll)).status_code == 200


def test_officials_results_are_hidden_until_published(citizen_api, official):
    poll = PollFactory(results_visibility="officials")
    vote(poll, poll.options.first())

    assert citizen_api.get(results_url(poll)).json()["code"] == "results_hidden"
    close(poll)
    closed_unpublished = citizen_api.get(results_url(poll))
    services.publish_results(poll=poll, by=official)
    published = citizen_api.get(results_url(poll))

    assert closed_unpublished.status_code == 403
    assert closed_unpublished.json()["code"] == "results_hidden"
    assert published.status_code == 200
    assert published.json()["total"] == 1


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


# --- shape ---------------------------------------------------------------------------------------


def test_results_without_ballots(citizen_api):
    poll = PollFactory(results_visibility="live")
    yes, no = poll.options.all()

    body = citizen_api.get(results_url(poll)).json()

    assert body == {
        "poll": poll.pk,
        "status": "open",
        "total": 0,
        "options": [
            {"id": yes.pk, "label": "찬성", "votes": 0, "share": 0.0},
            {"id": no.pk, "label": "반대", "votes": 0, "share": 0.0},
        ],
        "breakdown": {"gu": [], "age_band": [], "gender": []},
    }


def test_small_poll_is_suppressed_exactly(client_for):
    """12 ballots in 종로구 and 2 in 강남구: the small cell and its complement are withheld."""
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    for i in range(12):
        vote(
            poll,
            a if i < 9 else b,
            district=SAJIK,
            age=35 if i < 7 else 45,
            gender="female" if i % 2 == 0 else "male",
        )
    for _ in range(2):
        vote(poll, b, district=YEOKSAM1, age=45, gender="other")
    client = client_for(CitizenFactory(district_id=SAJIK))

    body = client.get(results_url(poll), HTTP_ACCEPT_LANGUAGE="en").json()

    names = dict(District.objects.filter(code__in=[JONGNO, GANGNAM]).values_list("code", "name_en"))
    assert body == {
        "poll": poll.pk,
        "status": "open",
        "total": 14,
        "options": [
            {"id": a.pk, "label": "A", "votes": 9, "share": 0.6429},
            {"id": b.pk, "label": "B", "votes": 5, "share": 0.3571},
        ],
        "breakdown": {
            # 강남구 has 2 ballots; 종로구's 12 would give them away (14 - 12): both withheld.
            "gu": [
                {
                    "code": JONGNO,
                    "name": names[JONGNO],
                    "total": None,
                    "suppressed": True,
                    "options": [hidden(a), hidden(b)],
                },
                {
                    "code": GANGNAM,
                    "name": names[GANGNAM],
                    "total": None,
                    "suppressed": True,
                    "options": [hidden(a), hidden(b)],
                },
            ],
            # 30s: A 7, B 0; 40s: A 2, B 5. Every row has one small number and its complement.
            "age_band": [
                {
                    "band": 30,
                    "label": "30s",
                    "total": 7,
                    "suppressed": False,
                    "options": [hidden(a), hidden(b)],
                },
                {
                    "band": 40,
                    "label": "40s",
                    "total": 7,
                    "suppressed": False,
                    "options": [hidden(a), hidden(b)],
                },
            ],
            # female 6, male 6, other 2: "other" and the smaller-keyed of the sixes withheld.
            "gender": [
                {
                    "gender": "female",
                    "total": None,
                    "suppressed": True,
                    "options": [hidden(a), hidden(b)],
                },
                {
                    "gender": "male",
                    "total": 6,
                    "suppressed": False,
                    "options": [hidden(a), hidden(b)],
                },
                {
                    "gender": "other",
                    "total": None,
                    "suppressed": True,
                    "options": [hidden(a), hidden(b)],
                },
            ],
        },
    }


def test_large_cells_are_shown(client_for):
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    for i in range(20):
        vote(poll, a if i % 2 else b, district=SAJIK if i < 10 else YEOKSAM1, age=35)

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
        for _ in range(n):
            vote(poll, option, district=SAJIK, age=35)
    for option, n in ((a, 8), (b, 2)):
        for _ in range(n):
            vote(poll, option, district=YEOKSAM1, age=55)

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
            for _ in range(n):
                vote(poll, option, district=district)

    cells = client_for(CitizenFactory()).get(results_url(poll)).json()["breakdown"]["gu"]

    grid = {cell["code"]: [o["votes"] for o in cell["options"]] for cell in cells}
    assert all(cell["total"] is not None for cell in cells)
    for row in grid.values():
        assert row.count(None) != 1
    for column in zip(*grid.values(), strict=True):
        assert column.count(None) != 1
    # 강남구's C (1) is withheld, so is at least one other number in its row and column.
    assert grid[GANGNAM][2] is None


def test_officials_get_the_same_suppression(official_api):
    poll = PollFactory(results_visibility="live")
    yes = poll.options.first()
    for _ in range(3):
        vote(poll, yes, district=SAJIK)

    body = official_api.get(results_url(poll)).json()

    assert body["total"] == 3
    assert body["breakdown"]["gu"][0]["total"] is None
    assert body["breakdown"]["gu"][0]["suppressed"] is True


def test_unknown_cells_are_labelled(client_for):
    poll = PollFactory(results_visibility="live")
    yes = poll.options.first()
    for _ in range(5):
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), option_ids=[yes.pk])

    body = client_for(CitizenFactory()).get(results_url(poll), HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["breakdown"]["gu"][0]["code"] is None
    assert body["breakdown"]["gu"][0]["total"] == 5
    assert body["breakdown"]["age_band"][0]["band"] is None
    assert body["breakdown"]["gender"][0]["gender"] == "undisclosed"


def test_multiple_choice_shares_are_of_ballots(client_for):
    poll = PollFactory(
        results_visibility="live", kind="multiple", min_choices=1, max_choices=2, options=list("AB")
    )
    a, b = poll.options.all()
    casting.cast_ballot(poll=poll, voter=CitizenFactory(), option_ids=[a.pk, b.pk])
    casting.cast_ballot(poll=poll, voter=CitizenFactory(), option_ids=[a.pk])

    body = client_for(CitizenFactory()).get(results_url(poll)).json()

    assert body["total"] == 2
    assert [(o["votes"], o["share"]) for o in body["options"]] == [(2, 1.0), (1, 0.5)]


def _results_queries(client, poll) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(results_url(poll))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_reading_results_costs_the_same_at_10_and_60_ballots(client_for):
    poll = PollFactory(results_visibility="live", options=["A", "B", "C"])
    options = list(poll.options.all())
    districts = [SAJIK, YEOKSAM1]
    client = client_for(CitizenFactory())

    for i in range(10):
        vote(poll, options[i % 3], district=districts[i % 2], age=20 + i)
    few = _results_queries(client, poll)
    for i in range(50):
        vote(poll, options[i % 3], district=districts[i % 2], age=20 + i)
    many = _results_queries(client, poll)

    assert tallies.read(poll.pk) == tallies.recount(poll.pk)
    assert few == many
    # session, user; poll; tallies; options; district names
    assert many == 6


# --- results.suppress ----------------------------------------------------------------------------


def test_suppress_keeps_large_numbers():
    assert results.suppress({"a": 5, "b": 12, "c": 40}) == {"a": 5, "b": 12, "c": 40}


def test_suppress_withholds_a_small_number_and_the_next_smallest():
    assert results.suppress({"a": 12, "b": 2, "c": 30}) == {"a": None, "b": None, "c": 30}


def test_suppress_complement_of_a_pair():
    assert results.suppress({"jongno": 12, "gangnam": 2}) == {"jongno": None, "gangnam": None}


def test_suppress_two_small_numbers_need_no_complement():
    assert results.suppress({"a": 1, "b": 4, "c": 30, "d": 7}) == {
        "a": None,
        "b": None,
        "c": 30,
        "d": 7,
    }


def test_suppress_zero_is_small():
    assert results.suppress({"a": 0, "b": 0}) == {"a": None, "b": None}


def test_suppress_a_lone_number():
    assert results.suppress({"a": 4}) == {"a": None}
    assert results.suppress({"a": 5}) == {"a": 5}


def test_suppress_empty():
    assert results.suppress({}) == {}


def test_suppress_ties_break_by_key():
    assert results.suppress({"b": 9, "a": 9, "c": 1}) == {"a": None, "b": 9, "c": None}


def test_suppress_threshold(settings):
    assert results.suppress({"a": 9, "b": 20}, min_cell=10) == {"a": None, "b": None}
    settings.RESULTS_MIN_CELL = 3
    assert results.suppress({"a": 3, "b": 20}) == {"a": 3, "b": 20}
