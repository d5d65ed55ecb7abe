"""The ballot endpoint's rules through HTTP: question kinds, bad input, idempotency, auth,
throttling, both ways of signing in, closing early.

A 201 seals an envelope and counts nothing yet (voting/casting.py); what a request wrote is
checked by opening the poll's envelopes with the counter's key (tests/ballot_box.py), and where
the promise is about totals, by counting them as the counter does."""

from datetime import timedelta

import pytest
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tests.ballot_box import after_close, cast_many, close_and_count, count_now, opened_envelopes
from tests.conftest import make_session_token
from tests.district_codes import GANGNAM, SAJIK, YEOKSAM1
from tests.factories import CitizenFactory, PollFactory
from voting import casting, counting, services, tallies
from voting.eligibility import Voter
from voting.models import Envelope, IdempotencyRecord, Participation

pytestmark = pytest.mark.django_db


def ballots_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/ballots/"


def post(client, poll, payload, **extra):
    return client.post(ballots_url(poll), payload, format="json", **extra)


def assert_nothing_written(poll) -> None:
    assert Participation.objects.filter(poll=poll).count() == 0
    assert Envelope.objects.filter(poll=poll).count() == 0
    assert tallies.read(poll.pk).overall.ballots == 0


def sealed_choices(poll) -> list[list[int]]:
    """The choices sealed in ``poll``'s envelopes, oldest first."""
    return [envelope["o"] for envelope in opened_envelopes(poll)]


@pytest.fixture
def voter_api(client_for):
    return client_for(CitizenFactory(district_id=SAJIK, birth_year=1990))


# --- question kinds ------------------------------------------------------------------------------


def test_single_choice_takes_exactly_one_option(voter_api):
    poll = PollFactory(options=["A", "B", "C"])
    a, b, _c = poll.options.all()

    two = post(voter_api, poll, {"options": [a.pk, b.pk]})

    assert two.status_code == 400
    assert two.json()["code"] == "invalid_choice"
    assert_nothing_written(poll)
    one = post(voter_api, poll, {"options": [b.pk]})
    assert one.status_code == 201
    assert one.json()["options"] == [b.pk]


@pytest.mark.parametrize(("count", "accepted"), [(1, False), (2, True), (3, True), (4, False)])
def test_multiple_choice_between_min_and_max(voter_api, count, accepted):
    poll = PollFactory(kind="multiple", min_choices=2, max_choices=3, options=list("ABCD"))
    chosen = [o.pk for o in poll.options.all()][:count]

    response = post(voter_api, poll, {"options": chosen})

    if accepted:
        assert response.status_code == 201
        assert response.json()["options"] == sorted(chosen)
        assert sealed_choices(poll) == [sorted(chosen)]
    else:
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_choice"
        assert "2" in response.json()["detail"] and "3" in response.json()["detail"]
        assert_nothing_written(poll)


def test_multiple_choice_options_in_any_order(voter_api):
    poll = PollFactory(kind="multiple", min_choices=1, max_choices=3, options=list("ABC"))
    a, _b, c = poll.options.all()
    response = post(voter_api, poll, {"options": [c.pk, a.pk]})
    assert response.status_code == 201
    assert response.json()["options"] == sorted([a.pk, c.pk])


@pytest.mark.parametrize("kind", ["single", "multiple"])
def test_duplicate_option_ids_are_refused(voter_api, kind):
    poll = PollFactory(kind=kind, min_choices=1, max_choices=1 if kind == "single" else 3)
    a = poll.options.first()

    response = post(voter_api, poll, {"options": [a.pk, a.pk]})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert_nothing_written(poll)


def test_option_of_another_poll_is_invalid_choice(voter_api):
    poll, other = PollFactory(), PollFactory()

    response = post(voter_api, poll, {"options": [other.options.first().pk]})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert_nothing_written(poll)
    assert_nothing_written(other)


def test_unknown_option_id_is_invalid_choice(voter_api):
    poll = PollFactory()
    response = post(voter_api, poll, {"options": [2**62]})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert_nothing_written(poll)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"options": []},
        {"options": None},
        {"options": 1},
        {"options": "1,2"},
        {"options": {"id": 1}},
        {"options": ["abc"]},
        {"options": [None]},
        {"options": [-1]},
        {"options": [0]},
        {"options": [1.5]},
        {"options": [True]},
        {"options": [[1]]},
        {"options": [2**63]},
        {"options": [10**30]},
        {"options": ["9" * 5000]},
        {"options": list(range(1, 5001))},
        [1, 2],
        "options",
        None,
    ],
    ids=lambda p: repr(p)[:40],
)
def test_malformed_ballots_are_4xx_and_write_nothing(voter_api, payload):
    poll = PollFactory()

    response = post(voter_api, poll, payload)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] in {"invalid_input", "invalid_choice"}
    assert isinstance(body["detail"], str)
    assert_nothing_written(poll)


def test_invalid_json_is_400(voter_api):
    poll = PollFactory()
    response = voter_api.post(ballots_url(poll), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert_nothing_written(poll)


def test_form_encoded_body_is_415(voter_api):
    poll = PollFactory()
    response = voter_api.post(ballots_url(poll), {"options": "1"})  # multipart
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert_nothing_written(poll)


def test_ballot_query_count_is_pinned(client_for):
    single = PollFactory(options=["A", "B"])
    multiple = PollFactory(
        kind="multiple", min_choices=1, max_choices=8, options=[f"안 {i}" for i in range(8)]
    )
    counts = []
    for poll, chosen in ((single, 1), (multiple, 8)):
        citizen = CitizenFactory(district_id=SAJIK, birth_year=1990)
        client = client_for(citizen)
        option_ids = [o.pk for o in poll.options.all()][:chosen]
        Voter.of(citizen)  # the residence's place in the hierarchy is cached per process
        with CaptureQueriesContext(connection) as ctx:
            assert post(client, poll, {"options": option_ids}).status_code == 201
        counts.append(len(ctx.captured_queries))
    # The number of options chosen does not add queries.
    assert counts[0] == counts[1]
    # Session and user (authentication), then the ballot: savepoint, [PostgreSQL: the poll's lock,
    # shared, so the final count waits for this ballot], verdicts (open, audience), the poll's
    # option ids (the choice is checked in Python, never sent in SQL), participation, envelope,
    # release. No counter, no ballot row: nothing shared is written. The residence's districts
    # come from a process cache.
    assert counts[0] == (9 if connection.vendor == "postgresql" else 8), counts


# --- idempotency ---------------------------------------------------------------------------------


def test_same_key_same_body_replays_the_same_answer(voter_api):
    poll = PollFactory(kind="multiple", min_choices=1, max_choices=2, options=list("ABC"))
    a, b, c = poll.options.all()
    key = {"HTTP_IDEMPOTENCY_KEY": "3f1c7e2a-retry-5d0c9e41b7a3"}

    first = post(voter_api, poll, {"options": [a.pk, b.pk]}, **key)
    # The same choice, listed in another order, is the same request.
    again = post(voter_api, poll, {"options": [b.pk, a.pk]}, **key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert sealed_choices(poll) == [sorted([a.pk, b.pk])]
    # Counted to the end with k - 1 others: the replay added no ballot.
    cast_many(poll, counting.k() - 1, choose=[c.pk])
    close_and_count(poll)
    assert tallies.read(poll.pk).overall.ballots == counting.k()


def test_same_key_different_body_is_422(voter_api):
    poll = PollFactory()
    yes, no = poll.options.all()
    key = {"HTTP_IDEMPOTENCY_KEY": "k-42-5d0c9e41b7a3"}
    post(voter_api, poll, {"options": [yes.pk]}, **key)

    response = post(voter_api, poll, {"options": [no.pk]}, **key)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_mismatch"
    assert "receipt" not in response.json()
    assert sealed_choices(poll) == [[yes.pk]]


def test_same_key_for_another_poll_is_422(voter_api):
    poll, other = PollFactory(), PollFactory()
    key = {"HTTP_IDEMPOTENCY_KEY": "k-43-5d0c9e41b7a3"}
    assert post(voter_api, poll, {"options": [poll.options.first().pk]}, **key).status_code == 201

    response = post(voter_api, other, {"options": [other.options.first().pk]}, **key)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_mismatch"
    assert_nothing_written(other)


def test_a_key_reused_by_another_citizen_is_independent(client_for):
    poll = PollFactory()
    yes, no = poll.options.all()
    alice = client_for(CitizenFactory())
    bob = client_for(CitizenFactory())
    key = {"HTTP_IDEMPOTENCY_KEY": "shared-key-5d0c9e41b7a3"}

    first = post(alice, poll, {"options": [yes.pk]}, **key)
    second = post(bob, poll, {"options": [no.pk]}, **key)
    same_body = post(client_for(CitizenFactory()), poll, {"options": [yes.pk]}, **key)

    assert first.status_code == second.status_code == same_body.status_code == 201
    assert "Idempotent-Replayed" not in second and "Idempotent-Replayed" not in same_body
    # No leak: each citizen gets their own receipt, never another's.
    receipts = {first.json()["receipt"], second.json()["receipt"], same_body.json()["receipt"]}
    assert len(receipts) == 3
    assert second.json()["options"] == [no.pk]
    assert IdempotencyRecord.objects.count() == 3
    assert sorted(sealed_choices(poll)) == sorted([[yes.pk], [no.pk], [yes.pk]])


def test_without_a_key_a_second_ballot_is_already_voted(voter_api):
    poll = PollFactory()
    option = poll.options.first()
    assert post(voter_api, poll, {"options": [option.pk]}).status_code == 201
    response = post(
        voter_api, poll, {"options": [option.pk]}, HTTP_IDEMPOTENCY_KEY="late-key-5d0c9e41b7a3"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"


def test_expired_key_is_not_replayed(voter_api, settings):
    poll = PollFactory()
    option = poll.options.first()
    key = {"HTTP_IDEMPOTENCY_KEY": "old-key-5d0c9e41b7a3"}
    post(voter_api, poll, {"options": [option.pk]}, **key)
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)
    )

    response = post(voter_api, poll, {"options": [option.pk]}, **key)

    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"


def test_keys_are_kept_at_least_24_hours(voter_api, settings):
    assert settings.IDEMPOTENCY_KEY_TTL_HOURS >= 24
    poll = PollFactory()
    option = poll.options.first()
    key = {"HTTP_IDEMPOTENCY_KEY": "day-old-key-5d0c9e41b7a3"}
    first = post(voter_api, poll, {"options": [option.pk]}, **key)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))

    again = post(voter_api, poll, {"options": [option.pk]}, **key)

    assert again.status_code == 201
    assert again.json() == first.json()


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "x" * 300, "", "too-short-key", "tab\there-0123456789", "new\x7fline-0123456789"],
)
def test_invalid_idempotency_key_is_400(voter_api, key):
    poll = PollFactory()

    response = post(
        voter_api, poll, {"options": [poll.options.first().pk]}, HTTP_IDEMPOTENCY_KEY=key
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert_nothing_written(poll)


def test_longest_idempotency_key_is_accepted(voter_api):
    poll = PollFactory()
    key = "k" * 255
    response = post(
        voter_api, poll, {"options": [poll.options.first().pk]}, HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 201


def test_refused_ballot_is_not_remembered_for_replay(client_for):
    poll = PollFactory(districts=[GANGNAM])
    citizen = CitizenFactory(district_id=SAJIK)
    client = client_for(citizen)
    key = {"HTTP_IDEMPOTENCY_KEY": "after-moving-5d0c9e41b7a3"}
    option = poll.options.first()
    assert post(client, poll, {"options": [option.pk]}, **key).status_code == 403

    citizen.district_id = YEOKSAM1
    citizen.save(update_fields=["district"])
    response = post(client, poll, {"options": [option.pk]}, **key)

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


# --- authentication ------------------------------------------------------------------------------


def test_no_token_is_401(api):
    poll = PollFactory()
    response = post(api, poll, {"options": [poll.options.first().pk]})
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_required"
    assert_nothing_written(poll)


@pytest.mark.parametrize("token", ["garbage", "x" * 500, "' OR 1=1 --"])
def test_garbage_token_is_401(token):
    poll = PollFactory()
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)

    response = post(client, poll, {"options": [poll.options.first().pk]})

    assert response.status_code == 401
    assert response.json()["code"] in {"invalid_session_token", "authentication_required"}
    assert_nothing_written(poll)


def test_token_of_an_inactive_account_is_401(client_for):
    citizen = CitizenFactory()
    client = client_for(citizen)
    citizen.is_active = False
    citizen.save(update_fields=["is_active"])
    poll = PollFactory()

    response = post(client, poll, {"options": [poll.options.first().pk]})

    assert response.status_code == 401
    assert_nothing_written(poll)


# --- throttling ----------------------------------------------------------------------------------


def test_per_user_throttle_answers_429_with_retry_after(voter_api, settings, window_clock):
    # window_clock: the limit counts fixed one-minute windows; a real clock could turn the minute
    # between the second ballot and the third, and the third would rightly be allowed.
    settings.BALLOT_THROTTLE_USER = "2/min"
    polls = [PollFactory() for _ in range(3)]

    statuses = [post(voter_api, p, {"options": [p.options.first().pk]}).status_code for p in polls]
    third = post(voter_api, polls[2], {"options": [polls[2].options.first().pk]})

    assert statuses[:2] == [201, 201]
    assert statuses[2] == 429
    assert third.status_code == 429
    assert third.json()["code"] == "throttled"
    assert isinstance(third.json()["detail"], str)
    assert 0 < int(third["Retry-After"]) <= 60
    assert_nothing_written(polls[2])


def test_per_user_throttle_is_per_user(client_for, settings):
    settings.BALLOT_THROTTLE_USER = "1/min"
    poll = PollFactory()
    option = poll.options.first()
    alice, bob = client_for(CitizenFactory()), client_for(CitizenFactory())

    assert post(alice, poll, {"options": [option.pk]}).status_code == 201
    assert post(alice, poll, {"options": [option.pk]}).status_code == 429
    assert post(bob, poll, {"options": [option.pk]}).status_code == 201


def test_per_ip_throttle(client_for, settings):
    settings.BALLOT_THROTTLE_IP = "2/min"
    poll = PollFactory()
    option = poll.options.first()

    statuses = [
        post(client_for(CitizenFactory()), poll, {"options": [option.pk]}).status_code
        for _ in range(3)
    ]

    assert statuses == [201, 201, 429]
    assert Envelope.objects.filter(poll=poll).count() == 2
    assert Participation.objects.filter(poll=poll).count() == 2


def test_reading_is_not_throttled_by_the_ballot_rate(voter_api, settings):
    settings.BALLOT_THROTTLE_USER = "1/min"
    poll = PollFactory()
    for _ in range(3):
        assert voter_api.get(f"/api/v1/polls/{poll.pk}/").status_code == 200


# --- the app's token and the web's cookie -------------------------------------------------------


def test_the_app_s_token_and_the_web_s_cookie_cast_the_same_sealed_ballot():
    """Both ways of signing in are accepted (the token needs no CSRF token, the cookie does), and
    the envelope does not record which was used: a channel beside the choice would split the
    batch's voters into smaller groups. Both envelopes hold the same fields and have one length."""
    poll = PollFactory()
    option = poll.options.first()
    app = APIClient(enforce_csrf_checks=True)
    app.credentials(HTTP_X_SESSION_TOKEN=make_session_token(CitizenFactory()))
    web = APIClient(enforce_csrf_checks=True)
    web.force_login(CitizenFactory())
    token = _get_new_csrf_string()
    web.cookies["csrftoken"] = token

    by_app = post(app, poll, {"options": [option.pk]})
    by_web = post(web, poll, {"options": [option.pk]}, HTTP_X_CSRFTOKEN=token)

    assert by_app.status_code == by_web.status_code == 201, (by_app.json(), by_web.json())
    assert [set(envelope) for envelope in opened_envelopes(poll)] == [
        {"p", "o", "g", "a", "s", "t", "c"}
    ] * 2
    lengths = {len(bytes(sealed)) for sealed in Envelope.objects.values_list("sealed", flat=True)}
    assert len(lengths) == 1


def test_ballot_with_the_session_cookie_without_csrf_is_refused():
    poll = PollFactory()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(CitizenFactory())

    response = post(client, poll, {"options": [poll.options.first().pk]})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert_nothing_written(poll)


# --- closing early -------------------------------------------------------------------------------


def test_ballot_after_closing_early_is_409(voter_api, official, client_for):
    """Ballots cast before an early close are counted at close; none after it is accepted."""
    poll = PollFactory()
    option = poll.options.first()
    assert post(voter_api, poll, {"options": [option.pk]}).status_code == 201
    cast_many(poll, counting.k() - 1, choose=[option.pk])

    services.close_poll(poll=poll, by=official)
    other = post(client_for(CitizenFactory()), poll, {"options": [option.pk]})

    assert other.status_code == 409
    assert other.json()["code"] == "poll_not_open"
    poll.refresh_from_db()
    assert poll.closed_early_at is not None
    assert poll.closes_at <= timezone.now()
    assert poll.status == "closed"
    assert Participation.objects.filter(poll=poll).count() == counting.k()
    assert count_now(now=after_close(poll)) == counting.k()
    assert tallies.read(poll.pk).overall.votes == {option.pk: counting.k()}


def test_closing_twice_is_poll_closed(official):
    poll = PollFactory()
    services.close_poll(poll=poll, by=official)
    closes_at = type(poll).objects.get(pk=poll.pk).closes_at

    with pytest.raises(services.PollAlreadyClosed) as info:
        services.close_poll(poll=poll, by=official)

    assert info.value.status_code == 409
    assert info.value.get_codes() == "poll_closed"
    # Never reopened, never moved.
    assert type(poll).objects.get(pk=poll.pk).closes_at == closes_at


def test_closing_a_poll_that_closed_on_schedule_is_poll_closed(official):
    now = timezone.now()
    poll = PollFactory(opens_at=now - timedelta(days=3), closes_at=now - timedelta(days=1))
    with pytest.raises(services.PollAlreadyClosed):
        services.close_poll(poll=poll, by=official)


def test_closing_an_upcoming_poll_is_refused(official):
    now = timezone.now()
    poll = PollFactory(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=3))
    with pytest.raises(casting.PollNotOpen):
        services.close_poll(poll=poll, by=official)
    poll.refresh_from_db()
    assert poll.closed_early_at is None


# --- which refusal comes first -------------------------------------------------------------------


def test_ineligible_citizen_with_a_bad_choice_is_told_not_eligible(client_for):
    poll = PollFactory(districts=[GANGNAM])
    yes, no = poll.options.all()
    client = client_for(CitizenFactory(district_id=SAJIK))

    response = post(client, poll, {"options": [yes.pk, no.pk]})

    assert response.status_code == 403
    assert (response.json()["code"], response.json()["reason"]) == ("not_eligible", "district")


def test_bad_choice_in_a_closed_poll_is_poll_not_open(voter_api):
    now = timezone.now()
    poll = PollFactory(opens_at=now - timedelta(days=3), closes_at=now - timedelta(days=1))
    yes, no = poll.options.all()

    response = post(voter_api, poll, {"options": [yes.pk, no.pk]})

    assert response.status_code == 409
    assert response.json()["code"] == "poll_not_open"
