"""On-site ballots through the API: the scanned QR code proves presence while it is fresh and the
session's window is open; the session's circle, if any, must hold the phone; the ballot is then an
ordinary one, cast once, marked ``onsite`` with its session on the participation (issue 19)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from onsite import tokens
from tests.ballot_box import opened_envelopes
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory, born
from tests.onsite.support import (
    BALLOTS_URL,
    CITY_HALL,
    FAR,
    NEAR,
    location,
    make_session,
    token_now,
)
from tests.openapi_strict import load_schema, strict_schema, validate_response
from voting.models import Channel, Participation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

CIRCLE = (*CITY_HALL, 100)


@pytest.fixture
def resident(db, clock):
    return CitizenFactory(district_id=SAJIK, birth_year=born(35), gender="female")


@pytest.fixture
def resident_api(resident, client_for):
    return client_for(resident)


@pytest.fixture
def poll():
    return PollFactory(title="시청 앞 광장 주말 차 없는 거리")


def vote(client, token: str, options: list[int], *, key: str | None = None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {"token": token, "options": options, **extra}
    return client.post(BALLOTS_URL, body, format="json", **headers)


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["detail"]


def nothing_cast(*polls) -> bool:
    return not Participation.objects.filter(poll__in=polls).exists()


def test_a_scanned_code_casts_an_ordinary_ballot_marked_onsite(poll, resident, resident_api):
    session = make_session(poll)
    yes, _no = poll.options.all()

    response = vote(resident_api, token_now(session), [yes.pk])

    assert response.status_code == 201, response.json()
    body = response.json()
    # The answer of an ordinary ballot: the choice echoed, the receipt shown once.
    assert body == {"poll": poll.pk, "options": [yes.pk], "receipt": body["receipt"]}
    validate_response(
        strict_schema(load_schema()),
        method="POST",
        path="/api/v1/onsite/ballots/",
        status=201,
        body=body,
        headers=dict(response.headers),
    )
    participation = Participation.objects.get(poll=poll, voter=resident)
    assert participation.channel == Channel.ONSITE
    assert participation.onsite_session_id == session.pk
    (sealed,) = opened_envelopes(poll)
    assert sealed["c"] == "onsite"
    assert sealed["o"] == [yes.pk]


def test_a_ranked_poll_takes_its_ranking_on_site(resident, resident_api):
    poll = PollFactory(kind="ranked", min_choices=1, max_choices=3, options=["가", "나", "다"])
    first, _second, third = poll.options.order_by("position")
    session = make_session(poll)

    response = resident_api.post(
        BALLOTS_URL,
        {"token": token_now(session), "ranking": [third.pk, first.pk]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["ranking"] == [third.pk, first.pk]


def test_a_code_not_signed_by_the_sessions_secret_is_refused(poll, resident_api):
    session = make_session(poll)
    other = make_session(PollFactory())
    yes, _no = poll.options.all()
    step = tokens.current_step()
    genuine = token_now(session)
    flipped = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    forged = [
        tokens.issue(session_id=session.pk, secret="00" * 32, step=step),
        # Another session's secret over this session's id.
        tokens.issue(session_id=session.pk, secret=other.secret, step=step),
        flipped,
        # A session that does not exist, signed with a real secret.
        tokens.issue(session_id=session.pk + 1000, secret=session.secret, step=step),
        # An id no database integer holds.
        tokens.issue(session_id=2**64 - 1, secret=session.secret, step=step),
        "x" * 32,
        "not a code",
        genuine + "A",
    ]

    for token in forged:
        refused(vote(resident_api, token, [yes.pk]), 400, "invalid_onsite_token")

    assert nothing_cast(poll)


def test_a_code_counts_in_its_step_and_the_next_then_expires(poll, clock, client_for):
    session = make_session(poll)
    yes, _no = poll.options.all()
    token = token_now(session)
    seconds = tokens.step_seconds()

    clock.advance(seconds)  # the screen shows the next code: a scan of this one still counts
    late = vote(client_for(CitizenFactory()), token, [yes.pk])
    clock.advance(seconds)  # two steps old
    too_late = vote(client_for(CitizenFactory()), token, [yes.pk])

    assert late.status_code == 201, late.json()
    refused(too_late, 400, "onsite_token_expired")
    assert Participation.objects.filter(poll=poll).count() == 1


def test_a_code_from_a_later_step_than_now_is_not_accepted(poll, resident_api):
    session = make_session(poll)
    yes, _no = poll.options.all()
    ahead = tokens.issue(
        session_id=session.pk, secret=session.secret, step=tokens.current_step() + 1
    )

    refused(vote(resident_api, ahead, [yes.pk]), 400, "invalid_onsite_token")


@pytest.mark.parametrize(
    ("starts_in_hours", "lasts_hours"),
    [(1, 2), (-3, 2)],
    ids=["not-started", "ended"],
)
def test_outside_the_sessions_window_the_code_is_refused(
    poll, resident_api, starts_in_hours, lasts_hours
):
    session = make_session(
        poll, starts_in=timedelta(hours=starts_in_hours), lasts=timedelta(hours=lasts_hours)
    )
    yes, _no = poll.options.all()

    refused(vote(resident_api, token_now(session), [yes.pk]), 409, "outside_window")
    assert nothing_cast(poll)


def test_with_a_circle_a_phone_outside_it_is_refused(poll, resident_api):
    session = make_session(poll, circle=CIRCLE)
    yes, _no = poll.options.all()

    response = vote(resident_api, token_now(session), [yes.pk], location=location(FAR))

    refused(response, 403, "out_of_radius")
    assert nothing_cast(poll)


def test_with_a_circle_a_ballot_without_the_location_is_refused(poll, resident_api):
    session = make_session(poll, circle=CIRCLE)
    yes, _no = poll.options.all()

    refused(vote(resident_api, token_now(session), [yes.pk]), 400, "location_required")
    assert nothing_cast(poll)


def test_with_a_circle_a_phone_inside_it_votes(poll, resident, resident_api):
    session = make_session(poll, circle=CIRCLE)
    yes, _no = poll.options.all()

    response = vote(resident_api, token_now(session), [yes.pk], location=location(NEAR))

    assert response.status_code == 201, response.json()
    assert Participation.objects.get(voter=resident).onsite_session_id == session.pk


def test_without_a_circle_no_location_is_needed(poll, resident_api):
    session = make_session(poll)
    yes, _no = poll.options.all()

    assert vote(resident_api, token_now(session), [yes.pk]).status_code == 201


def test_an_impossible_location_is_invalid_input(poll, resident_api):
    session = make_session(poll, circle=CIRCLE)
    yes, _no = poll.options.all()

    response = vote(
        resident_api, token_now(session), [yes.pk], location={"latitude": 91, "longitude": 0}
    )

    refused(response, 400, "invalid_input")
    assert "location" in response.json()["fields"]


def test_a_second_ballot_is_refused_on_site_and_in_the_app(poll, resident, resident_api):
    session = make_session(poll)
    yes, no = poll.options.all()
    assert vote(resident_api, token_now(session), [yes.pk]).status_code == 201

    again_on_site = vote(resident_api, token_now(session), [no.pk])
    again_in_app = resident_api.post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [no.pk]}, format="json"
    )

    refused(again_on_site, 409, "already_voted")
    refused(again_in_app, 409, "already_voted")
    assert Participation.objects.filter(poll=poll, voter=resident).count() == 1


def test_a_code_of_another_polls_session_casts_nothing_in_either(poll, resident_api):
    elsewhere = make_session(PollFactory(title="다른 투표"))
    yes, _no = poll.options.all()
    token = token_now(elsewhere)

    naming_the_poll = vote(resident_api, token, [yes.pk], poll=poll.pk)
    without_the_poll = vote(resident_api, token, [yes.pk])

    refused(naming_the_poll, 400, "onsite_poll_mismatch")
    # The ballot goes to the code's poll, where this poll's options are no choice at all.
    refused(without_the_poll, 400, "invalid_choice")
    assert nothing_cast(poll, elsewhere.poll)


def test_an_onsite_only_poll_refuses_the_ordinary_ballot_and_takes_the_onsite_one(resident_api):
    poll = PollFactory(onsite_only=True)
    yes, _no = poll.options.all()
    session = make_session(poll)

    in_app = resident_api.post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [yes.pk]}, format="json"
    )
    on_site = vote(resident_api, token_now(session), [yes.pk])

    refused(in_app, 403, "onsite_only")
    assert on_site.status_code == 201, on_site.json()


def test_a_closed_poll_refuses_ballots_inside_the_sessions_window(resident_api):
    poll = PollFactory()
    session = make_session(poll)
    poll.closes_at = timezone.now() - timedelta(minutes=1)
    poll.save(update_fields=["closes_at"])
    yes, _no = poll.options.all()

    refused(vote(resident_api, token_now(session), [yes.pk]), 409, "poll_not_open")


def test_a_retry_with_its_idempotency_key_replays_the_answer_after_the_code_expired(
    poll, clock, resident_api
):
    """The first request proved presence; its answer was lost on the way back."""
    session = make_session(poll, circle=CIRCLE)
    yes, _no = poll.options.all()
    token, key = token_now(session), str(uuid.uuid4())
    first = vote(resident_api, token, [yes.pk], key=key, location=location(NEAR))
    clock.advance(3 * tokens.step_seconds())

    retry = vote(resident_api, token, [yes.pk], key=key)
    other_key = vote(resident_api, token, [yes.pk], key=str(uuid.uuid4()))

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    refused(other_key, 400, "onsite_token_expired")


def test_anonymous_requests_are_refused(poll, api):
    session = make_session(poll)
    yes, _no = poll.options.all()

    response = vote(api, token_now(session), [yes.pk])

    assert response.status_code == 401
    assert nothing_cast(poll)


def test_the_apps_deep_link_resolves_a_fresh_code_to_its_poll(poll, clock, resident_api):
    session = make_session(poll, circle=CIRCLE)
    token = token_now(session)

    fresh = resident_api.get(f"/api/v1/onsite/tokens/{token}/")
    clock.advance(2 * tokens.step_seconds())
    stale = resident_api.get(f"/api/v1/onsite/tokens/{token}/")

    assert fresh.status_code == 200, fresh.json()
    body = fresh.json()
    assert body["poll"] == poll.pk
    assert body["session"]["id"] == session.pk
    assert body["session"]["place"] == session.place
    assert body["session"]["location_required"] is True
    validate_response(
        strict_schema(load_schema()),
        method="GET",
        path="/api/v1/onsite/tokens/{token}/",
        status=200,
        body=body,
        headers=dict(fresh.headers),
    )
    refused(stale, 400, "onsite_token_expired")


def test_every_refusal_is_the_documented_error_body(poll, clock, client_for):
    """The answers a generated client meets, each against the served schema, objects closed."""
    schema = strict_schema(load_schema())
    session = make_session(poll, circle=CIRCLE)
    later = make_session(poll, starts_in=timedelta(hours=1))
    yes, _no = poll.options.all()
    stale = token_now(session)
    clock.advance(2 * tokens.step_seconds())
    fresh = token_now(session)
    voter = client_for(CitizenFactory())
    answers = {
        "invalid_onsite_token": vote(voter, "x" * 32, [yes.pk]),
        "onsite_token_expired": vote(voter, stale, [yes.pk], location=location(NEAR)),
        "onsite_poll_mismatch": vote(voter, fresh, [yes.pk], poll=PollFactory().pk),
        "location_required": vote(voter, fresh, [yes.pk]),
        "out_of_radius": vote(voter, fresh, [yes.pk], location=location(FAR)),
        "outside_window": vote(voter, token_now(later), [yes.pk]),
    }

    for code, response in answers.items():
        assert response.json()["code"] == code, response.json()
        validate_response(
            schema,
            method="POST",
            path=BALLOTS_URL,
            status=response.status_code,
            body=response.json(),
            headers=dict(response.headers),
        )
