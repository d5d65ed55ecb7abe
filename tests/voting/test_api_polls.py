"""The poll list and the poll detail, through HTTP, as the app reads them."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Verification
from districts.models import GroupMembership
from tests.ballot_box import cast_many, count_now
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SEOUL, YEOKSAM1
from tests.factories import (
    CategoryFactory,
    CitizenFactory,
    GroupFactory,
    PollFactory,
    PollImageFactory,
)
from voting import casting, services
from voting.models import Outcome

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/polls/"
ITEM_FIELDS = {
    "id",
    "title",
    "category",
    "cover_image",
    "status",
    "opens_at",
    "closes_at",
    "eligible",
    "has_voted",
    "participants",
}
DETAIL_FIELDS = {
    "id",
    "title",
    "description",
    "category",
    "images",
    "options",
    "kind",
    "min_choices",
    "max_choices",
    "score_min",
    "score_max",
    "score_abstain",
    "opens_at",
    "closes_at",
    "status",
    "audience",
    "eligible",
    "ineligible_reason",
    "has_voted",
    "results_visibility",
    "results_available",
    "participants",
    "outcome",
}


def detail_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/"


def ballots_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/ballots/"


def upcoming(**kwargs):
    now = timezone.now()
    return PollFactory(
        opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=9), **kwargs
    )


def closed(days_ago: int = 1, **kwargs):
    now = timezone.now()
    return PollFactory(
        opens_at=now - timedelta(days=days_ago + 7),
        closes_at=now - timedelta(days=days_ago),
        **kwargs,
    )


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def resident(db):
    """A 종로구 사직동 resident, born 1990, phone verified."""
    return CitizenFactory(district_id=SAJIK, birth_year=1990, gender="female")


@pytest.fixture
def resident_api(resident, client_for):
    return client_for(resident)


# --- The list -------------------------------------------------------------------------------------


def test_default_list_is_the_open_polls_of_my_audience(resident_api):
    mine_city = PollFactory()
    mine_gu = PollFactory(districts=[JONGNO])
    mine_dong = PollFactory(districts=[SAJIK])
    PollFactory(districts=[GANGNAM])  # another gu
    PollFactory(districts=[YEOKSAM1])  # a dong of another gu
    PollFactory(min_verification=Verification.RESIDENT)
    PollFactory(published=False)  # a draft
    upcoming()
    closed()

    response = resident_api.get(LIST_URL)

    assert response.status_code == 200
    assert sorted(ids(response)) == sorted([mine_city.pk, mine_gu.pk, mine_dong.pk])
    assert all(item["eligible"] and item["status"] == "open" for item in response.json()["results"])


def test_open_polls_come_soonest_closing_first(resident_api):
    now = timezone.now()
    later = PollFactory(closes_at=now + timedelta(days=20))
    soon = PollFactory(closes_at=now + timedelta(hours=2))
    middle = PollFactory(closes_at=now + timedelta(days=3))

    assert ids(resident_api.get(LIST_URL)) == [soon.pk, middle.pk, later.pk]


def test_status_filter_lists_upcoming_and_closed(resident_api):
    now = timezone.now()
    open_poll = PollFactory()
    far = PollFactory(opens_at=now + timedelta(days=5), closes_at=now + timedelta(days=9))
    near = PollFactory(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=30))
    old = closed(days_ago=10)
    recent = closed(days_ago=1)
    PollFactory(published=False, opens_at=now + timedelta(days=1))

    assert ids(resident_api.get(LIST_URL, {"status": "upcoming"})) == [near.pk, far.pk]
    # Closed: the most recently closed first.
    assert ids(resident_api.get(LIST_URL, {"status": "closed"})) == [recent.pk, old.pk]
    assert ids(resident_api.get(LIST_URL, {"status": "open"})) == [open_poll.pk]
    upcoming_items = resident_api.get(LIST_URL, {"status": "upcoming"}).json()["results"]
    assert {item["status"] for item in upcoming_items} == {"upcoming"}
    # Not open now: nobody may vote in them yet, even inside the audience.
    assert {item["eligible"] for item in upcoming_items} == {False}


def test_scope_all_lists_every_published_poll_saying_whether_i_may_vote(resident_api):
    mine = PollFactory(districts=[JONGNO])
    other_gu = PollFactory(districts=[GANGNAM])
    needs_resident = PollFactory(min_verification=Verification.RESIDENT)
    PollFactory(published=False)
    upcoming(districts=[GANGNAM])

    response = resident_api.get(LIST_URL, {"scope": "all"})

    eligible = {item["id"]: item["eligible"] for item in response.json()["results"]}
    assert eligible == {mine.pk: True, other_gu.pk: False, needs_resident.pk: False}


def test_scope_all_with_closed_status(resident_api):
    in_audience = closed(districts=[JONGNO])
    outside = closed(days_ago=2, districts=[GANGNAM])
    PollFactory()

    response = resident_api.get(LIST_URL, {"scope": "all", "status": "closed"})
    mine_only = resident_api.get(LIST_URL, {"status": "closed"})

    assert ids(response) == [in_audience.pk, outside.pk]
    assert {item["eligible"] for item in response.json()["results"]} == {False}
    assert ids(mine_only) == [in_audience.pk]


def test_category_filter(resident_api):
    transport = CategoryFactory(slug="transport", name="교통")
    welfare = CategoryFactory(slug="welfare", name="복지")
    bus = PollFactory(category=transport)
    PollFactory(category=welfare)
    PollFactory(category=None)

    response = resident_api.get(LIST_URL, {"category": "transport"})

    assert ids(response) == [bus.pk]
    assert response.json()["results"][0]["category"] == {"slug": "transport", "name": "교통"}
    assert ids(resident_api.get(LIST_URL, {"category": "nothing-like-it"})) == []


def test_list_item_fields(resident, resident_api):
    category = CategoryFactory(slug="transport", name="교통")
    poll = PollFactory(category=category, title="버스 노선 개편")
    PollImageFactory(poll=poll, is_cover=False, image="polls/2025/01/gallery.png")
    PollImageFactory(
        poll=poll, is_cover=True, image="polls/2025/01/cover.png", caption="표지", alt="버스"
    )
    k = settings.BALLOT_BATCH_MIN
    cast_many(poll, 2 * k, district_id=SAJIK)
    count_now()  # the oldest k are counted; the newest k wait for the next batch

    item = resident_api.get(LIST_URL).json()["results"][0]

    assert set(item) == ITEM_FIELDS
    assert item["id"] == poll.pk
    assert item["title"] == "버스 노선 개편"
    assert item["category"] == {"slug": "transport", "name": "교통"}
    assert item["cover_image"]["url"].endswith("/polls/2025/01/cover.png")
    assert item["cover_image"]["url"].startswith("http://testserver/")
    assert (item["cover_image"]["caption"], item["cover_image"]["alt"]) == ("표지", "버스")
    assert item["status"] == "open"
    assert item["opens_at"] and item["closes_at"]
    assert item["eligible"] is True
    assert item["has_voted"] is False
    assert item["participants"] == k  # ballots counted


def test_list_item_without_cover_or_category(resident_api):
    PollFactory(category=None)
    item = resident_api.get(LIST_URL).json()["results"][0]
    assert item["cover_image"] is None
    assert item["category"] is None
    assert item["participants"] == 0


def test_has_voted_in_the_list(resident_api):
    voted, not_voted = PollFactory(), PollFactory()
    resident_api.post(ballots_url(voted), {"options": [voted.options.first().pk]}, format="json")

    has_voted = {
        item["id"]: item["has_voted"] for item in resident_api.get(LIST_URL).json()["results"]
    }

    assert has_voted == {voted.pk: True, not_voted.pk: False}


def test_pagination_shape(resident_api):
    polls = [PollFactory(closes_at=timezone.now() + timedelta(days=i + 1)) for i in range(25)]

    first = resident_api.get(LIST_URL).json()
    second = resident_api.get(LIST_URL, {"page": 2}).json()
    small = resident_api.get(LIST_URL, {"page_size": 5}).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 25
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert [p["id"] for p in first["results"]] == [p.pk for p in polls[:20]]
    assert [p["id"] for p in second["results"]] == [p.pk for p in polls[20:]]
    assert second["next"] is None and second["previous"] is not None
    assert len(small["results"]) == 5


def test_page_out_of_range_is_404_in_the_error_format(resident_api):
    PollFactory()
    response = resident_api.get(LIST_URL, {"page": 9})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("status", ["draft", "OPEN", "all", ""])
def test_invalid_status_is_400_in_the_error_format(resident_api, status):
    response = resident_api.get(LIST_URL, {"status": status})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_input"
    assert set(body["fields"]) == {"status"}
    assert isinstance(body["detail"], str)


def test_list_needs_authentication(api):
    response = api.get(LIST_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_required"


def _list_queries(client, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST_URL, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"scope": "all"}, {"status": "closed"}])
def test_list_query_count_is_pinned_and_does_not_grow(resident, client_for, params):
    category = CategoryFactory()
    group = GroupFactory()
    GroupMembership.objects.create(group=group, user=resident)

    def make_polls(n: int) -> None:
        for i in range(n):
            kwargs = {"category": category, "districts": [JONGNO], "groups": [group]}
            poll = closed(**kwargs) if params.get("status") == "closed" else PollFactory(**kwargs)
            PollImageFactory(poll=poll, is_cover=True)
            if i % 2 and poll.status == "open":
                casting.cast_ballot(poll=poll, voter=resident, option_ids=[poll.options.first().pk])

    make_polls(3)
    client = client_for(resident)
    _list_queries(client, params)  # warms authentication, the residence's districts, the cards
    few = _list_queries(client, params)
    make_polls(12)
    cold = _list_queries(client, params)  # twelve new cards to build
    many = _list_queries(client, params)

    # One statement for what differs per citizen (audience, has_voted, participants, the count);
    # the cards come from the cache (voting/poll_cards.py). Authentication comes from its cache
    # once warm (tests/accounts/test_auth_cache.py) and the residence's districts from a
    # per-process cache.
    assert few == many == 1
    # Missing cards cost one query for the polls and one for their cover images, however many.
    assert cold == 3


def test_an_officials_edit_shows_in_the_list_at_once(resident_api):
    """An official renames a poll, swaps its cover, renames its category: the next list shows
    each change, though the cards were cached just before."""
    category = CategoryFactory(slug="transport", name="교통")
    poll = PollFactory(category=category, title="버스 노선 개편")
    cover = PollImageFactory(poll=poll, is_cover=True, alt="버스")

    def item() -> dict:
        return resident_api.get(LIST_URL).json()["results"][0]

    assert item()["title"] == "버스 노선 개편"
    poll.title = "버스 노선 개편안"
    poll.save()
    assert item()["title"] == "버스 노선 개편안"
    cover.alt = "새 버스"
    cover.save()
    assert item()["cover_image"]["alt"] == "새 버스"
    category.name = "대중교통"
    category.save()
    assert item()["category"]["name"] == "대중교통"
    cover.delete()
    assert item()["cover_image"] is None
    category.delete()
    assert item()["category"] is None


# --- The detail ----------------------------------------------------------------------------------


def test_detail_has_every_field(resident, resident_api):
    category = CategoryFactory(slug="environment", name="환경")
    group = GroupFactory(name="청년")
    GroupMembership.objects.create(group=group, user=resident)
    poll = PollFactory(
        title="한강공원 금연 구역",
        description="**확대**할까요?",
        category=category,
        kind="multiple",
        min_choices=1,
        max_choices=2,
        options=["찬성", "반대", "모르겠다"],
        districts=[JONGNO, SAJIK],
        groups=[group],
        min_age=19,
        max_age=60,
        results_visibility="live",
    )
    cover = PollImageFactory(
        poll=poll, is_cover=True, image="polls/2025/01/c.png", caption="한강", alt="공원"
    )
    PollImageFactory(poll=poll, image="polls/2025/01/g.png", caption="지도", alt="지도", position=1)

    response = resident_api.get(detail_url(poll))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == DETAIL_FIELDS
    assert body["id"] == poll.pk
    assert body["title"] == "한강공원 금연 구역"
    assert body["description"] == "**확대**할까요?"
    assert body["category"] == {"slug": "environment", "name": "환경"}
    assert [(i["caption"], i["alt"]) for i in body["images"]] == [
        ("한강", "공원"),
        ("지도", "지도"),
    ]
    assert body["images"][0]["url"].endswith(cover.image.name)
    options = list(poll.options.all())
    assert body["options"] == [
        {"id": o.pk, "label": o.label, "description": "", "image": None} for o in options
    ]
    assert (body["kind"], body["min_choices"], body["max_choices"]) == ("multiple", 1, 2)
    assert body["status"] == "open"
    assert body["audience"] == {
        "districts": [{"code": JONGNO, "name": "종로구"}, {"code": SAJIK, "name": "사직동"}],
        "groups": [{"id": group.pk, "name": "청년"}],
        "min_age": 19,
        "max_age": 60,
        "min_verification": "phone",
    }
    assert body["eligible"] is True
    assert body["ineligible_reason"] is None
    assert body["has_voted"] is False
    assert body["results_visibility"] == "live"
    assert body["results_available"] is True
    assert body["participants"] == 0
    assert body["outcome"] is None  # nothing decided yet (tests/voting/test_outcome.py)


def test_detail_of_an_unrestricted_poll(resident_api):
    poll = PollFactory(min_verification=Verification.RESIDENT)
    audience = resident_api.get(detail_url(poll)).json()["audience"]
    assert audience == {
        "districts": [],
        "groups": [],
        "min_age": None,
        "max_age": None,
        "min_verification": "resident",
    }


def test_detail_after_voting_says_so_and_counts_me_once_my_batch_is_counted(resident_api):
    """My vote shows at once as "has voted"; the participants are the ballots counted, so mine
    joins them with its batch (the oldest k of the 2k sealed), and my receipt says so."""
    poll = PollFactory()
    k = settings.BALLOT_BATCH_MIN
    before = resident_api.get(detail_url(poll)).json()
    ballot = resident_api.post(
        ballots_url(poll), {"options": [poll.options.first().pk]}, format="json"
    )
    assert ballot.status_code == 201
    receipt_url = f"/api/v1/receipts/{ballot.json()['receipt']}/"

    sealed = resident_api.get(detail_url(poll)).json()
    sealed_receipt = resident_api.get(receipt_url).json()
    cast_many(poll, 2 * k - 1)
    assert count_now() == k
    counted = resident_api.get(detail_url(poll)).json()
    counted_receipt = resident_api.get(receipt_url).json()

    assert (before["has_voted"], before["participants"]) == (False, 0)
    assert (sealed["has_voted"], sealed["participants"]) == (True, 0)
    assert (counted["has_voted"], counted["participants"]) == (True, k)
    assert (sealed_receipt["status"], counted_receipt["status"]) == ("sealed", "counted")


def test_poll_outside_my_audience_is_readable_but_not_votable(resident_api):
    poll = PollFactory(districts=[GANGNAM])

    detail = resident_api.get(detail_url(poll))
    ballot = resident_api.post(
        ballots_url(poll), {"options": [poll.options.first().pk]}, format="json"
    )

    assert detail.status_code == 200
    assert detail.json()["eligible"] is False
    assert detail.json()["ineligible_reason"] == "district"
    assert ballot.status_code == 403
    assert ballot.json()["code"] == "not_eligible"
    assert ballot.json()["reason"] == "district"


@pytest.mark.parametrize(
    ("visibility", "state", "available"),
    [
        ("live", "open", True),
        ("after_close", "open", False),
        ("after_close", "closed", True),
        ("officials", "closed", False),
        ("live", "upcoming", False),
    ],
)
def test_detail_results_available(resident_api, visibility, state, available):
    make = {"open": PollFactory, "closed": closed, "upcoming": upcoming}[state]
    poll = make(results_visibility=visibility)
    assert resident_api.get(detail_url(poll)).json()["results_available"] is available


def test_detail_results_available_once_officials_publish(resident_api):
    poll = closed(results_visibility="officials")
    services.publish_results(poll=poll)
    assert resident_api.get(detail_url(poll)).json()["results_available"] is True


def test_detail_results_always_available_to_officials(official, client_for):
    from accounts.roles import ensure_official_group

    poll = PollFactory(results_visibility="officials")
    # A staff account alone is not enough (tests/security/test_access_control.py): the role is.
    assert client_for(official).get(detail_url(poll)).json()["results_available"] is False
    official.groups.add(ensure_official_group())
    assert client_for(official).get(detail_url(poll)).json()["results_available"] is True


def test_draft_is_not_found(resident_api):
    draft = PollFactory(published=False)

    for url in (detail_url(draft), f"/api/v1/polls/{draft.pk}/results/"):
        response = resident_api.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    ballot = resident_api.post(
        ballots_url(draft), {"options": [draft.options.first().pk]}, format="json"
    )
    assert ballot.status_code == 404
    assert ballot.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "poll_id", ["99999999999999999999", "999999999999999999", "9223372036854775808", "0"]
)
def test_huge_or_unknown_ids_are_404_not_500(resident_api, poll_id):
    for url in (
        f"/api/v1/polls/{poll_id}/",
        f"/api/v1/polls/{poll_id}/results/",
    ):
        response = resident_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
    response = resident_api.post(
        f"/api/v1/polls/{poll_id}/ballots/", {"options": [1]}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_detail_needs_authentication(api):
    poll = PollFactory()
    response = api.get(detail_url(poll))
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_required"


def _detail_queries(client, poll) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(detail_url(poll))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_detail_query_count_is_pinned(resident, client_for):
    client = client_for(resident)
    small = PollFactory(options=["A", "B"], districts=[JONGNO])
    big = PollFactory(
        options=[f"안 {i}" for i in range(12)],
        districts=[JONGNO, SAJIK, GANGNAM, SEOUL],
        groups=[GroupFactory() for _ in range(4)],
    )
    for poll in (small, big):
        PollImageFactory(poll=poll, is_cover=True)
    for i in range(5):
        PollImageFactory(poll=big, position=i + 1)
    casting.cast_ballot(
        poll=small, voter=CitizenFactory(district_id=SAJIK), option_ids=[small.options.first().pk]
    )

    cold = [_detail_queries(client, poll) for poll in (small, big)]  # warms auth, the cards
    # One statement for the citizen's part (every rule's verdict, has_voted, participants); the
    # card from the cache. The residence's districts are cached per process, authentication
    # once warm (tests/accounts/test_auth_cache.py).
    assert _detail_queries(client, small) == _detail_queries(client, big) == 1
    # A missing card: the poll (with category and outcome), options, images, districts, groups.
    assert cold[1] == 1 + 5


def test_an_officials_edit_shows_in_the_detail_at_once(resident_api):
    """Every part of a poll's card an official can change from the admin or the shell shows on
    the next read, though the card was cached just before."""
    group = GroupFactory(name="청년")
    poll = PollFactory(options=["찬성", "반대"], districts=[JONGNO], groups=[group])
    image = PollImageFactory(poll=poll, is_cover=True, alt="표지")

    def read() -> dict:
        return resident_api.get(detail_url(poll)).json()

    assert read()["options"][0]["label"] == "찬성"
    option = poll.options.order_by("position", "id").first()
    option.label = "찬성합니다"
    option.save()
    assert read()["options"][0]["label"] == "찬성합니다"
    image.alt = "새 표지"
    image.save()
    assert read()["images"][0]["alt"] == "새 표지"
    group.name = "청년 19–34"
    group.save()
    assert read()["audience"]["groups"] == [{"id": group.pk, "name": "청년 19–34"}]
    poll.districts.add(SAJIK)
    assert {d["code"] for d in read()["audience"]["districts"]} == {JONGNO, SAJIK}
    poll.groups.clear()
    assert read()["audience"]["groups"] == []
    Outcome.objects.create(
        poll=poll, summary="노선을 바꾸기로 했습니다.", decided_on=timezone.localdate()
    )
    assert read()["outcome"]["summary"] == "노선을 바꾸기로 했습니다."
