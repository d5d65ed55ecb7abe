"""Real voting answers against the served OpenAPI schema, with every object closed (issue 17).

The adversary is an app developer's generated client: a key the schema does not list is one the
client drops, a null it does not allow crashes it, an undocumented status or header is one it
cannot handle. Each test makes the server give one kind of answer and validates it strictly
(tests/openapi_strict.py).
"""

import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone

from districts.models import GroupMembership
from tests.ballot_box import cast_many, close_and_count, count_now
from tests.district_codes import GANGNAM, SAJIK, SEOCHO, YEOKSAM1
from tests.factories import (
    CategoryFactory,
    CitizenFactory,
    GroupFactory,
    PollFactory,
    PollImageFactory,
    born,
)
from tests.openapi_strict import load_schema, strict_schema, validate_response
from voting.models import Outcome

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

K = 10


@pytest.fixture(autouse=True)
def _k(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.RESULTS_MIN_CELL = 5


@pytest.fixture(scope="module")
def schema():
    return strict_schema(load_schema())


def check(schema, method: str, path: str, response) -> dict:
    """Validate ``response`` strictly; its JSON body for the test's own assertions."""
    body = response.json() if response.content else None
    validate_response(
        schema,
        method=method,
        path=path,
        status=response.status_code,
        body=body,
        headers=dict(response.headers),
    )
    return body


def ballot(client, poll, options, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": options}, format="json", **headers
    )


def final_poll():
    """44 ballots, closed and counted: every breakdown has cells, some numbers withheld."""
    poll = PollFactory(results_visibility="live", options=["A", "B"])
    a, b = poll.options.all()
    for option, n, district, age, gender in [
        (a, 10, SAJIK, 35, "female"),
        (b, 4, SAJIK, 35, "male"),
        (a, 8, YEOKSAM1, 55, "female"),
        (b, 6, YEOKSAM1, 55, "female"),
        (a, 6, YEOKSAM1, 55, "male"),
        (a, 3, SEOCHO, 35, "other"),
        (a, 7, SEOCHO, 35, "female"),
    ]:
        cast_many(poll, n, [option.pk], district_id=district, birth_year=born(age), gender=gender)
    cast_many(poll, K, [a.pk])  # citizens who told nothing: the "unknown" cells
    close_and_count(poll)
    return poll


def test_final_results_match_the_schema(schema, client_for):
    poll = final_poll()
    path = f"/api/v1/polls/{poll.pk}/results/"

    body = check(schema, "GET", path, client_for(CitizenFactory(district_id=SAJIK)).get(path))

    # The document under test really has every part: cells of each dimension, unknown cells
    # (null code and band), withheld numbers (null votes).
    cells = body["breakdown"]
    assert cells["gu"] and cells["age_band"] and cells["gender"]
    assert any(cell["code"] is None for cell in cells["gu"])
    assert any(cell["band"] is None for cell in cells["age_band"])
    assert any(o["votes"] is None for c in cells["gu"] for o in c["options"])


def test_a_key_the_results_schema_does_not_list_fails(schema, client_for):
    """The check has teeth: the same real document with one more key is refused."""
    poll = final_poll()
    path = f"/api/v1/polls/{poll.pk}/results/"
    body = client_for(CitizenFactory()).get(path).json()
    body["breakdown"]["age_band"][0]["median"] = 41

    with pytest.raises(AssertionError, match="'median' was unexpected"):
        validate_response(schema, method="GET", path=path, status=200, body=body)


def test_withheld_and_hidden_results_match_the_schema(schema, client_for):
    client = client_for(CitizenFactory())
    live = PollFactory(results_visibility="live")
    cast_many(live, 3, [live.options.first().pk])
    count_now()
    body = check(
        schema,
        "GET",
        f"/api/v1/polls/{live.pk}/results/",
        client.get(f"/api/v1/polls/{live.pk}/results/"),
    )
    assert body["withheld"] is True and body["total"] is None

    hidden = PollFactory(results_visibility="after_close")
    path = f"/api/v1/polls/{hidden.pk}/results/"
    assert check(schema, "GET", path, client.get(path))["code"] == "results_hidden"


def test_poll_list_and_detail_match_the_schema(schema, client_for):
    citizen = CitizenFactory(district_id=SAJIK, birth_year=born(30))
    group = GroupFactory()
    GroupMembership.objects.create(group=group, user=citizen)
    poll = PollFactory(
        category=CategoryFactory(),
        districts=[SAJIK],
        groups=[group],
        min_age=20,
        max_age=60,
    )
    PollImageFactory(poll=poll, is_cover=True)
    PollImageFactory(poll=poll)
    Outcome.objects.create(poll=poll, summary="결정", decided_on=date(2026, 1, 5))
    elsewhere = PollFactory(districts=[GANGNAM])
    client = client_for(citizen)

    listed = check(schema, "GET", "/api/v1/polls/", client.get("/api/v1/polls/?scope=all"))
    assert {item["id"] for item in listed["results"]} >= {poll.pk, elsewhere.pk}
    detail = check(
        schema, "GET", f"/api/v1/polls/{poll.pk}/", client.get(f"/api/v1/polls/{poll.pk}/")
    )
    assert detail["audience"]["groups"] == [{"id": group.pk, "name": group.name}]
    assert detail["outcome"]["summary"] == "결정"
    refused = check(
        schema,
        "GET",
        f"/api/v1/polls/{elsewhere.pk}/",
        client.get(f"/api/v1/polls/{elsewhere.pk}/"),
    )
    assert refused["ineligible_reason"] == "district"


def test_every_ballot_answer_matches_the_schema(schema, client_for):
    citizen = CitizenFactory(district_id=SAJIK)
    client = client_for(citizen)
    poll = PollFactory()
    option = poll.options.first().pk
    path = f"/api/v1/polls/{poll.pk}/ballots/"
    key = str(uuid.uuid4())

    first = ballot(client, poll, [option], key)
    assert check(schema, "POST", path, first)["options"] == [option]
    replay = ballot(client, poll, [option], key)
    check(schema, "POST", path, replay)
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    mismatch = ballot(client, poll, [option, option + 1], key)
    assert check(schema, "POST", path, mismatch)["code"] == "idempotency_mismatch"
    again = ballot(client, poll, [option])
    assert check(schema, "POST", path, again)["code"] == "already_voted"
    short_key = ballot(client, poll, [option], "short")
    assert check(schema, "POST", path, short_key)["code"] == "invalid_idempotency_key"
    wrong = ballot(client_for(CitizenFactory(district_id=SAJIK)), poll, [option + 1000])
    assert check(schema, "POST", path, wrong)["code"] == "invalid_choice"

    elsewhere = PollFactory(districts=[GANGNAM])
    refused = ballot(client, elsewhere, [elsewhere.options.first().pk])
    body = check(schema, "POST", f"/api/v1/polls/{elsewhere.pk}/ballots/", refused)
    assert (refused.status_code, body["code"], body["reason"]) == (403, "not_eligible", "district")

    now = timezone.now()
    closed = PollFactory(opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))
    late = ballot(client, closed, [closed.options.first().pk])
    assert check(schema, "POST", f"/api/v1/polls/{closed.pk}/ballots/", late)["code"] == (
        "poll_not_open"
    )


def test_a_throttled_ballot_says_when_to_retry(schema, client_for, settings):
    settings.BALLOT_THROTTLE_USER = "1/min"
    client = client_for(CitizenFactory(district_id=SAJIK))
    polls = [PollFactory(), PollFactory()]
    ballot(client, polls[0], [polls[0].options.first().pk])

    throttled = ballot(client, polls[1], [polls[1].options.first().pk])

    assert throttled.status_code == 429
    check(schema, "POST", f"/api/v1/polls/{polls[1].pk}/ballots/", throttled)
    assert int(throttled["Retry-After"]) > 0


def test_a_429_without_retry_after_would_fail(schema):
    """The header check has teeth: a 429 missing the documented Retry-After is refused."""
    with pytest.raises(AssertionError, match="required header Retry-After is missing"):
        validate_response(
            schema,
            method="POST",
            path="/api/v1/polls/1/ballots/",
            status=429,
            body={"code": "throttled", "detail": "Slow down."},
            headers={},
        )


def test_receipt_and_board_match_the_schema(schema, client_for, api):
    voter = CitizenFactory(district_id=SAJIK)
    poll = PollFactory(results_visibility="live")
    receipt = ballot(client_for(voter), poll, [poll.options.first().pk]).json()["receipt"]
    # The newest k stay sealed, so that the last batch never holds fewer than k.
    cast_many(poll, 2 * K, [poll.options.first().pk])
    count_now()

    path = f"/api/v1/receipts/{receipt}/"
    assert check(schema, "GET", path, api.get(path))["status"] == "counted"
    path = f"/api/v1/polls/{poll.pk}/board/"
    assert check(schema, "GET", path, api.get(path))["entries"]
