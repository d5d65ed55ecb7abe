"""Exactly once under real concurrency, against a live gunicorn (three worker processes) on
PostgreSQL: HTTP from real threads, every answer checked, then the counter runs and the ballot
box's invariant is checked — every 201 became exactly one counted ballot or one sealed envelope,
and, once the poll is counted to the end, exactly one ballot on the board."""

import json
import threading
import time
from collections import Counter

import pytest
from django.conf import settings

from tests.ballot_box import cast_many
from tests.reliability.conftest import (
    BallotRequest,
    bulk_citizens,
    count_and_check,
    count_to_the_end_and_check,
    participations,
    post_ballot,
    run_load,
    size,
)
from voting import services, tallies
from voting.models import Envelope, Poll

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
    assert (participations(poll.pk), Envelope.objects.filter(poll=poll).count()) == (1, 1)
    (receipt,) = [a.body["receipt"] for a in answers if a.status == 201]
    count_and_check([receipt], [poll.pk])
    # Counted once: with k - 1 other voters (for the other option) the poll's whole turnout can
    # be counted at the close.
    other = poll.options.last().pk
    others = cast_many(poll, settings.BALLOT_BATCH_MIN - 1, choose=[other])
    count_to_the_end_and_check([receipt, *others], [poll])
    assert tallies.read(poll.pk).overall.votes == {option: 1, other: len(others)}


def test_many_citizens_at_once_on_one_poll_are_counted_exactly(http_server, open_poll):
    k = settings.BALLOT_BATCH_MIN
    poll = open_poll()
    options = list(poll.options.values_list("pk", flat=True))
    tokens = bulk_citizens(CITIZENS)
    ballots = [BallotRequest(t, poll.pk, options[i % 3]) for i, t in enumerate(tokens)]

    answers = run_load(http_server.port, ballots, concurrency=48, deadline=size(120, 900))

    assert Counter(a.status for a in answers) == {201: CITIZENS}, _odd(answers)
    codes = [a.body["receipt"] for a in answers]
    # While the poll is open the counter counts all but the newest k.
    assert count_and_check(codes, [poll.pk]) == CITIZENS - k
    assert tallies.read(poll.pk).overall.ballots == CITIZENS - k
    assert Envelope.objects.filter(poll=poll).count() == k
    # At the close, the rest: the totals are exactly what was cast.
    count_to_the_end_and_check(codes, [poll])
    assert tallies.read(poll.pk).overall.votes == dict(Counter(b.option_id for b in ballots))


def test_many_citizens_spread_over_twenty_polls_are_counted_exactly(http_server, open_poll):
    k = settings.BALLOT_BATCH_MIN
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
    codes = [a.body["receipt"] for a in answers]
    cast = Counter(b.poll_id for b in ballots)
    assert min(cast.values()) >= 2 * k  # every poll has batches to count while open
    count_and_check(codes, [p.pk for p in polls])
    for poll in polls:
        assert tallies.read(poll.pk).overall.ballots == cast[poll.pk] - k
    count_to_the_end_and_check(codes, polls)
    for poll in polls:
        expected = Counter(b.option_id for b in ballots if b.poll_id == poll.pk)
        assert tallies.read(poll.pk).overall.votes == dict(expected)


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
    assert (participations(poll.pk), Envelope.objects.filter(poll=poll).count()) == (1, 1)
    receipt = answers[0].body["receipt"]
    count_and_check([receipt], [poll.pk])
    # A later retry still replays it; another body under the key is refused.
    again = post_ballot(http_server.port, request)
    assert (again.status, again.body) == (201, answers[0].body)
    other = poll.options.last().pk
    mismatch = post_ballot(http_server.port, BallotRequest(token, poll.pk, other, key=request.key))
    assert (mismatch.status, mismatch.code) == (422, "idempotency_mismatch")
    assert (participations(poll.pk), Envelope.objects.filter(poll=poll).count()) == (1, 1)
    # One ballot, counted once, for the option of the original request.
    others = cast_many(poll, settings.BALLOT_BATCH_MIN - 1, choose=[other])
    count_to_the_end_and_check([receipt, *others], [poll])
    assert tallies.read(poll.pk).overall.votes == {option: 1, other: len(others)}


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
    while participations(poll.pk) < count // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    services.close_poll(poll=Poll.objects.get(pk=poll.pk))
    closed_at.append(time.monotonic())
    cast_at_close = participations(poll.pk)
    loader.join(timeout=300)
    assert not loader.is_alive()

    outcomes = Counter((a.status, a.code) for a in answers)
    assert set(outcomes) <= {(201, None), (409, "poll_not_open")}, outcomes
    accepted = outcomes[(201, None)]
    assert 0 < accepted < count, outcomes
    # Every 201 sealed, and nothing sealed that was not answered 201.
    assert participations(poll.pk) == Envelope.objects.filter(poll=poll).count() == accepted
    codes = [a.body["receipt"] for a in answers if a.status == 201]
    # A ballot sent after the close had committed is refused, always.
    after = [a for a in answers if a.sent_at > closed_at[0]]
    assert after and all(a.status == 409 for a in after), Counter(a.status for a in after)
    # What was cast when the close returned may grow only by requests already in flight.
    in_flight = [a for a in answers if a.sent_at <= closed_at[0] < a.answered_at]
    assert accepted - cast_at_close <= len(in_flight)
    # And nobody can vote any more.
    (late,) = bulk_citizens(1)
    refused = post_ballot(http_server.port, BallotRequest(late, poll.pk, options[0]))
    assert (refused.status, refused.code) == (409, "poll_not_open")
    # Once the close's grace has passed, the counter counts every accepted ballot, exactly.
    count_to_the_end_and_check(codes, [poll])
    accepted_choices = [
        b.option_id for b, a in zip(ballots, answers, strict=True) if a.status == 201
    ]
    assert tallies.read(poll.pk).overall.votes == dict(Counter(accepted_choices))


def _odd(answers) -> list:
    return [(a.status, a.body, a.error) for a in answers if a.status != 201][:5]
