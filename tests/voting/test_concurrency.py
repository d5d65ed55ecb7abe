"""Exactly once under real concurrency, on PostgreSQL: threads posting at the same moment, and
counters counting while they do.

Each ballot answered 201 is a participation and a sealed envelope; the counter turns envelopes
into ballots on the board exactly once. After each race the ballot box's invariant holds
(tests/ballot_box.py): the board verifies, its sums equal the counters, participations equal
counted ballots plus sealed envelopes, and every receipt answered is sealed or counted, once.
"""

import threading
from collections import Counter

import pytest
from rest_framework.test import APIClient

from tests.ballot_box import (
    assert_box_consistent,
    assert_receipts_kept,
    close_and_count,
    count_now,
)
from tests.concurrency import run_at_once
from tests.conftest import make_session_token
from tests.factories import CitizenFactory, PollFactory
from voting import counting, receipts, tallies
from voting.models import BoardTracker, Envelope, Participation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_throttling_here(settings):
    # These tests are about the database deciding "once"; the per-citizen rate limit would
    # answer 429 before the race is run.
    settings.BALLOT_THROTTLE_USER = "100000/min"
    settings.BALLOT_THROTTLE_IP = "100000/min"


def post_ballot(
    token: str, poll_id: int, option_id: int, key: str | None = None
) -> tuple[int, dict]:
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.post(
        f"/api/v1/polls/{poll_id}/ballots/", {"options": [option_id]}, format="json", **headers
    )
    return response.status_code, response.json()


def receipts_of(answers: list[tuple[int, dict]]) -> list[str]:
    return [body["receipt"] for status, body in answers if status == 201]


def test_fifty_simultaneous_ballots_of_one_citizen_count_once():
    poll = PollFactory()
    option = poll.options.first()
    token = make_session_token(CitizenFactory())

    answers = run_at_once([lambda: post_ballot(token, poll.pk, option.pk)] * 50)

    assert Counter(status for status, _body in answers) == {201: 1, 409: 49}
    assert {body["code"] for status, body in answers if status == 409} == {"already_voted"}
    assert Participation.objects.filter(poll=poll).count() == 1
    assert Envelope.objects.filter(poll=poll).count() == 1
    assert_box_consistent([poll.pk])
    assert_receipts_kept(receipts_of(answers), [poll.pk])


def test_two_hundred_citizens_at_once_are_counted_exactly():
    """200 citizens at once; the counter then counts all but the newest k while the poll is open,
    and the rest at close: every receipt on the board once, the totals exactly what was cast."""
    poll = PollFactory(options=["A", "B", "C"])
    options = list(poll.options.all())
    tokens = [make_session_token(CitizenFactory()) for _ in range(200)]
    expected = Counter(options[i % 3].pk for i in range(200))

    answers = run_at_once(
        [
            (lambda t=token, o=options[i % 3].pk: post_ballot(t, poll.pk, o))
            for i, token in enumerate(tokens)
        ]
    )

    assert Counter(status for status, _body in answers) == {201: 200}
    codes = receipts_of(answers)
    assert_box_consistent([poll.pk])
    assert count_now() == 200 - counting.k()
    assert Envelope.objects.filter(poll=poll).count() == counting.k()
    assert_box_consistent([poll.pk])
    assert_receipts_kept(codes, [poll.pk])

    close_and_count(poll)

    assert tallies.read(poll.pk).overall.votes == dict(expected)
    assert_box_consistent([poll.pk])
    trackers = [receipts.tracker(code) for code in codes]
    assert BoardTracker.objects.filter(tracker__in=trackers).count() == 200


def test_idempotent_retries_racing_the_original_make_one_ballot():
    poll = PollFactory()
    option = poll.options.first()
    token = make_session_token(CitizenFactory())

    answers = run_at_once(
        [lambda: post_ballot(token, poll.pk, option.pk, key="same-key-5d0c9e41b7a3")] * 20
    )

    # Every retry is answered as the original was: 201, with the same receipt.
    assert Counter(status for status, _body in answers) == {201: 20}
    (receipt,) = {body["receipt"] for _status, body in answers}
    assert Envelope.objects.filter(poll=poll).count() == 1
    assert_box_consistent([poll.pk])
    assert_receipts_kept([receipt], [poll.pk])


def test_counters_counting_while_citizens_vote_count_each_ballot_once():
    """Three counters loop over the poll (as replicas of the counter service do, side by side
    through SKIP LOCKED) while 120 citizens vote at once: envelopes committing while a batch is
    taken are left for a later one, none is counted twice, and at close the board holds every
    receipt once."""
    poll = PollFactory(options=["A", "B", "C"])
    options = list(poll.options.all())
    tokens = [make_session_token(CitizenFactory()) for _ in range(120)]
    expected = Counter(options[i % 3].pk for i in range(120))
    voting_done = threading.Event()
    counted: list[int] = []

    def counter() -> int:
        # A short pause between rounds (as the service's COUNT_INTERVAL) leaves the two cores
        # to the voters too.
        while not voting_done.wait(0.01):
            counted.append(count_now())
        counted.append(count_now())
        return 0

    def voters() -> int:
        try:
            answers.extend(
                run_at_once(
                    [
                        (lambda t=token, o=options[i % 3].pk: post_ballot(t, poll.pk, o))
                        for i, token in enumerate(tokens)
                    ]
                )
            )
        finally:
            voting_done.set()
        return 0

    answers: list[tuple[int, dict]] = []
    run_at_once([voters, counter, counter, counter])

    assert Counter(status for status, _body in answers) == {201: 120}
    assert sum(counted) == 120 - Envelope.objects.filter(poll=poll).count()
    assert_box_consistent([poll.pk])
    codes = receipts_of(answers)
    assert_receipts_kept(codes, [poll.pk])

    close_and_count(poll)

    assert tallies.read(poll.pk).overall.votes == dict(expected)
    assert Envelope.objects.filter(poll=poll).count() == 0
    assert_box_consistent([poll.pk])
    trackers = [receipts.tracker(code) for code in codes]
    assert BoardTracker.objects.filter(tracker__in=trackers).count() == 120
