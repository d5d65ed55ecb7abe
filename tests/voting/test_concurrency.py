"""Exactly once under real concurrency, on PostgreSQL: threads posting at the same moment."""

from collections import Counter

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.concurrency import run_at_once
from tests.conftest import make_session_token
from tests.factories import CitizenFactory, PollFactory
from voting import tallies
from voting.models import Ballot, Participation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_throttling_here(settings):
    # These tests are about the database deciding "once"; the per-citizen rate limit would
    # answer 429 before the race is run.
    settings.BALLOT_THROTTLE_USER = "100000/min"
    settings.BALLOT_THROTTLE_IP = "100000/min"


def post_ballot(token: str, poll_id: int, option_id: int, key: str | None = None) -> int:
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.post(
        f"/api/v1/polls/{poll_id}/ballots/", {"options": [option_id]}, format="json", **headers
    )
    return response.status_code


def assert_invariant(poll_id: int) -> None:
    participations = Participation.objects.filter(poll_id=poll_id).count()
    ballots = Ballot.objects.filter(poll_id=poll_id).count()
    assert participations == ballots == tallies.read(poll_id).overall.ballots
    assert tallies.read(poll_id) == tallies.recount(poll_id)
    call_command("verify_tallies", str(poll_id))


def test_fifty_simultaneous_ballots_of_one_citizen_count_once():
    poll = PollFactory()
    option = poll.options.first()
    token = make_session_token(CitizenFactory())

    statuses = run_at_once([lambda: post_ballot(token, poll.pk, option.pk)] * 50)

    assert Counter(statuses) == {201: 1, 409: 49}
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert_invariant(poll.pk)


def test_two_hundred_citizens_at_once_are_counted_exactly():
    poll = PollFactory(options=["A", "B", "C"])
    options = list(poll.options.all())
    tokens = [make_session_token(CitizenFactory()) for _ in range(200)]
    expected = Counter(options[i % 3].pk for i in range(200))

    statuses = run_at_once(
        [
            (lambda t=token, o=options[i % 3].pk: post_ballot(t, poll.pk, o))
            for i, token in enumerate(tokens)
        ]
    )

    assert Counter(statuses) == {201: 200}
    assert tallies.read(poll.pk).overall.votes == dict(expected)
    assert_invariant(poll.pk)


def test_idempotent_retries_racing_the_original_make_one_ballot():
    poll = PollFactory()
    option = poll.options.first()
    token = make_session_token(CitizenFactory())

    statuses = run_at_once(
        [lambda: post_ballot(token, poll.pk, option.pk, key="same-key-5d0c9e41b7a3")] * 20
    )

    # Every retry is answered as the original was: 201, replayed.
    assert Counter(statuses) == {201: 20}
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert_invariant(poll.pk)
