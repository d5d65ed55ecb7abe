"""Exactly once under real concurrency, against a live gunicorn (three worker processes) on
PostgreSQL: HTTP from real threads, every answer checked, then the invariant."""

import json
import threading
import time
from collections import Counter

import pytest

from tests.reliability.conftest import (
    BallotRequest,
    assert_invariant,
    assert_receipts_counted,
    bulk_citizens,
    post_ballot,
    run_load,
    size,
)
from voting import services, tallies
from voting.models import Ballot, Poll

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CITIZENS = size(1_000, 10_000)


def test_one_citizen_fifty_simultaneous_ballots_one_is_counted(http_server, open_poll):
    poll = open_poll()
    option = poll.options.first().pk
    (token,) = bulk_citizens(1)

    answers = run_load(
        http_server.port, [BallotRequest(token, poll.pk, option)] * 50, concurrency=50
    )

    assert Counter((a.status, a.code) for a in answers) == {
        (201, None): 1,
        (409, "already_voted"): 49,
    }, [a for a in answers if a.status not in (201, 409)][:3]
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert_receipts_counted([a.body["receipt"] for a in answers if a.status == 201], [poll.pk])
    assert_invariant([poll.pk])


def test_many_citizens_at_once_on_one_poll_are_counted_exactly(http_server, open_poll):
    poll = open_poll()
    options = list(poll.options.values_list("pk", flat=True))
    tokens = bulk_citizens(CITIZENS)
    ballots = [BallotRequest(t, poll.pk, options[i % 3]) for i, t in enumerate(tokens)]

    answers = run_load(http_server.port, ballots, concurrency=48, deadline=size(120, 900))

    assert Counter(a.status for a in answers) == {201: CITIZENS}, _odd(answers)
    expected = Counter(b.option_id for b in ballots)
    assert tallies.read(poll.pk).overall.votes == dict(expected)
    assert_receipts_counted([a.body["receipt"] for a in answers], [poll.pk])
    assert_invariant([poll.pk])


def test_many_citizens_spread_over_twenty_polls_are_counted_exactly(http_server, open_poll):
    polls = [open_poll(options=("A", "B")) for _ in range(20)]
    options = {p.pk: list(p.options.values_list("pk", flat=True)) for p in polls}
    tokens = bulk_citizens(CITIZENS)
    ballots = []
    for i, token in enumerate(tokens):
        # Every citizen votes in two polls: the same citizens race on several polls at once.
        for poll in (polls[i % 20], polls[(i * 7 + 3) % 20]):
            ballots.append(BallotRequest(token, poll.pk, options[poll.pk][i % 2]))
    ballots = list({(b.token, b.poll_id): b for b in ballots}.values())[:CITIZENS]

    answers = run_load(http_server.port, ballots, concurrency=48, deadline=size(120, 900))

    assert Counter(a.status for a in answers) == {201: len(ballots)}, _odd(answers)
    for poll in polls:
        expected = Counter(b.option_id for b in ballots if b.poll_id == poll.pk)
        assert tallies.read(poll.pk).overall.votes == dict(expected)
    assert_receipts_counted([a.body["receipt"] for a in answers], [p.pk for p in polls])
    assert_invariant([p.pk for p in polls])


def test_idempotent_retries_racing_the_original_make_one_ballot(http_server, open_poll):
    poll = open_poll()
    option = poll.options.first().pk
    (token,) = bulk_citizens(1)
    request = BallotRequest(token, poll.pk, option, key="retry-key-7c1d2e9f40a5b6")

    answers = run_load(http_server.port, [request] * 20, concurrency=20)

    # Every one answered as the original: 201 with the very same body (one receipt).
    assert {a.status for a in answers} == {201}, _odd(answers)
    assert len({json.dumps(a.body, sort_keys=True) for a in answers}) == 1, answers[:3]
    replayed = [a.headers.get("idempotent-replayed") for a in answers]
    assert replayed.count(None) == 1 and replayed.count("true") == 19, replayed
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert_receipts_counted([answers[0].body["receipt"]], [poll.pk])
    # A later retry still replays it; another body under the key is refused.
    again = post_ballot(http_server.port, request)
    assert (again.status, again.body) == (201, answers[0].body)
    other = poll.options.last().pk
    mismatch = post_ballot(http_server.port, BallotRequest(token, poll.pk, other, key=request.key))
    assert (mismatch.status, mismatch.code) == (422, "idempotency_mismatch")
    assert_invariant([poll.pk])


def test_a_poll_closing_while_ballots_arrive_counts_each_ballot_or_refuses_it(
    http_server, open_poll
):
    poll = open_poll()
    options = list(poll.options.values_list("pk", flat=True))
    count = size(600, 5_000)
    tokens = bulk_citizens(count)
    ballots = [BallotRequest(t, poll.pk, options[i % 3]) for i, t in enumerate(tokens)]
    started = threading.Event()
    closed_at: list[float] = []
    answers: list = []

    loader = threading.Thread(
        target=lambda: answers.extend(
            run_load(http_server.port, ballots, concurrency=32, started=started)
        ),
        daemon=True,
    )
    loader.start()
    assert started.wait(timeout=30)
    # Close once some ballots are in (bounded wait), while the rest keep arriving.
    deadline = time.monotonic() + 60
    while Ballot.objects.filter(poll=poll).count() < count // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    services.close_poll(poll=Poll.objects.get(pk=poll.pk))
    closed_at.append(time.monotonic())
    counted_at_close = Ballot.objects.filter(poll=poll).count()
    loader.join(timeout=300)
    assert not loader.is_alive()

    outcomes = Counter((a.status, a.code) for a in answers)
    assert set(outcomes) <= {(201, None), (409, "poll_not_open")}, outcomes
    accepted = outcomes[(201, None)]
    assert 0 < accepted < count, outcomes
    # Every 201 counted, and nothing counted that was not answered 201.
    assert Ballot.objects.filter(poll=poll).count() == accepted
    assert_receipts_counted([a.body["receipt"] for a in answers if a.status == 201], [poll.pk])
    # A ballot sent after the close had committed is refused, always.
    after = [a for a in answers if a.sent_at > closed_at[0]]
    assert after and all(a.status == 409 for a in after), Counter(a.status for a in after)
    # What was counted when the close returned may grow only by requests already in flight.
    in_flight = [a for a in answers if a.sent_at <= closed_at[0] < a.answered_at]
    assert accepted - counted_at_close <= len(in_flight)
    # And nobody can vote any more.
    (late,) = bulk_citizens(1)
    refused = post_ballot(http_server.port, BallotRequest(late, poll.pk, options[0]))
    assert (refused.status, refused.code) == (409, "poll_not_open")
    assert_invariant([poll.pk])


def _odd(answers) -> list:
    return [(a.status, a.body, a.error) for a in answers if a.status != 201][:5]
