"""Helpers for tests of the secret ballot: count now, close and count, check the whole box.

Casting seals an envelope; nothing is counted until the counter runs (voting/counting.py). Tests
run the counter's own code synchronously with these helpers — the same functions the counter
service loops over — so what they check is what production does.
"""

import os
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from tests.factories import CitizenFactory
from voting import board, casting, counting, receipts, sealing
from voting.models import BoardTracker, Envelope, Poll


def count_now(*, now=None) -> int:
    """Run the counter once over every poll (as one round of the counter service does)."""
    return counting.count_all(now=now)


def after_close(poll: Poll):
    """A moment past the poll's close and the grace for ballots still committing."""
    poll.refresh_from_db()
    return poll.closes_at + timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS + 1)


def close_and_count(poll: Poll) -> int:
    """Close ``poll`` now (its close time moves into the past) and count it to the end."""
    Poll.objects.filter(pk=poll.pk).update(
        closes_at=timezone.now() - timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS + 1)
    )
    poll.refresh_from_db()
    return count_now()


def cast_many(
    poll: Poll,
    n: int,
    choose: Callable[[int], list[int]] | list[int] | None = None,
    **citizen_fields,
) -> list[str]:
    """``n`` new citizens (``citizen_fields`` for CitizenFactory) vote in ``poll``; their
    receipts. ``choose``: the option ids for all, or a function of the voter's index."""
    options = [option.pk for option in poll.options.order_by("position", "id")]
    codes = []
    for i in range(n):
        if choose is None:
            chosen = [options[i % len(options)]]
        elif callable(choose):
            chosen = choose(i)
        else:
            chosen = list(choose)
        voter = CitizenFactory(**citizen_fields)
        result = casting.cast_ballot(poll=poll, voter=voter, option_ids=chosen)
        codes.append(result.body["receipt"])
    return codes


def opened_envelopes(poll: Poll | int) -> list[dict]:
    """What ``poll``'s sealed envelopes hold, oldest first, opened with the counter's private key
    as the counter will open them: for checking what a 201 sealed before anything is counted.
    Keys: "p" poll, "o" the ballot, "g" gu, "a" age band, "s" gender, "t" tracker, "c" channel."""
    counter = sealing.Counter()
    poll_id = poll if isinstance(poll, int) else poll.pk
    sealed = (
        Envelope.objects.filter(poll_id=poll_id).order_by("id").values_list("sealed", flat=True)
    )
    return [counter.open(envelope) for envelope in sealed]


def assert_box_consistent(poll_ids: Iterable[int]) -> None:
    """The ballot box's invariant, for each poll: the board verifies (chain, signatures, batches
    of at least k), its sums equal the counters (a recount), and participations equal counted
    ballots plus sealed envelopes — and ``manage.py verify_tallies`` agrees."""
    poll_ids = sorted(set(poll_ids))
    assert poll_ids
    for poll_id in poll_ids:
        result = board.check(poll_id=poll_id)
        assert result.ok, (poll_id, result.problems)
    call_command("verify_tallies", *map(str, poll_ids), stdout=open(os.devnull, "w"))  # noqa: SIM115


def assert_receipts_kept(codes: Iterable[str], poll_ids: Iterable[int]) -> None:
    """Every receipt answered with a 201 is either sealed or on the board, once, in these polls."""
    codes = list(codes)
    trackers = [receipts.tracker(code) for code in codes]
    assert len(set(trackers)) == len(trackers), "a receipt was handed out twice"
    counted = dict(
        BoardTracker.objects.filter(tracker__in=trackers).values_list("tracker", "entry__poll_id")
    )
    sealed = dict(
        Envelope.objects.filter(
            lookup__in=[receipts.envelope_lookup(code) for code in codes]
        ).values_list("lookup", "poll_id")
    )
    missing = [
        code
        for code, tracker in zip(codes, trackers, strict=True)
        if tracker not in counted and receipts.envelope_lookup(code) not in sealed
    ]
    assert not missing, f"{len(missing)} ballots answered 201 are neither sealed nor counted"
    assert set(counted.values()) | set(sealed.values()) <= set(poll_ids)
