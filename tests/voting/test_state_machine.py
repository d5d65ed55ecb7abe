"""A property-based walk through the ballot's life: cast, retry, count, close, count to the end,
delete an account, publish results — in any order, thousands of steps.

After every step, for each poll: participations equal the ballots answered 201, and equal counted
ballots plus sealed envelopes; the counters hold exactly the choices of the ballots counted so far
(the counter takes the oldest envelopes first, so those are the first ``counted`` ballots cast);
while a poll is open its last k envelopes stay sealed; a poll counted to the end has every ballot
on the board (or, below k, none: all stay sealed); and whenever a poll's box changed, the whole
box checks out (tests/ballot_box.py: the board verifies, its sums equal the counters,
verify_tallies agrees) and every receipt handed out is sealed or counted, once.
"""

import contextlib
import os
import uuid
from collections import Counter

import pytest
from django.test.utils import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from core.errors import ApiError
from tests.ballot_box import (
    assert_box_consistent,
    assert_receipts_kept,
    close_and_count,
    count_now,
)
from tests.district_codes import MAPO, SAJIK, YEOKSAM1
from tests.factories import CitizenFactory, PollFactory
from voting import casting, counting, results, services, tallies
from voting.models import CountState, Envelope, Participation, Poll

pytestmark = pytest.mark.django_db

DISTRICTS = [SAJIK, YEOKSAM1, MAPO, None]


def refusal_of(poll: Poll, voter, chosen: list[int]) -> tuple[str, int] | None:
    """The refusal (code, status) a ballot must get, in the order voting/casting.py judges: a
    repeated option, a closed poll, a choice of the wrong size, a second ballot. The walk's
    polls are city-wide and its citizens phone-verified: every one of them is in the audience."""
    poll = Poll.objects.get(pk=poll.pk)
    if len(set(chosen)) != len(chosen):
        return ("invalid_choice", 400)
    if poll.closes_at <= timezone.now():
        return ("poll_not_open", 409)
    if not poll.min_choices <= len(chosen) <= poll.max_choices:
        return ("invalid_choice", 400)
    if Participation.objects.filter(poll=poll, voter=voter).exists():
        return ("already_voted", 409)
    return None


class BallotLife(RuleBasedStateMachine):
    polls = Bundle("polls")
    citizens = Bundle("citizens")

    def __init__(self) -> None:
        super().__init__()
        self.cast_choices: dict[int, list[list[int]]] = {}  # poll → choices answered 201, in order
        self.codes: dict[int, list[str]] = {}  # poll → receipts handed out
        self.finished: set[int] = set()  # polls counted to the end
        self.keys: dict[tuple[int, int], tuple[str, list[int], dict]] = {}
        self.checked: dict[int, tuple] = {}  # poll → the box's state when last checked whole

    def _track(self, poll: Poll) -> Poll:
        self.cast_choices[poll.pk] = []
        self.codes[poll.pk] = []
        return poll

    def _crowd(self, poll: Poll, voters: int, picks: list[int], **citizen_fields) -> None:
        """``voters`` new citizens cast the same choice, as long as the poll accepts it."""
        options = list(poll.options.order_by("position").values_list("pk", flat=True))
        chosen = sorted({options[i] for i in picks})
        for _ in range(voters):
            voter = CitizenFactory(**citizen_fields)
            expected = refusal_of(poll, voter, chosen)
            try:
                result = casting.cast_ballot(poll=poll, voter=voter, option_ids=chosen)
            except ApiError as refusal:
                assert (refusal.get_codes(), refusal.status_code) == expected, refusal
                return
            assert expected is None, expected
            assert poll.pk not in self.finished, (
                "a ballot was accepted in a poll counted to the end"
            )
            self.cast_choices[poll.pk].append(chosen)
            self.codes[poll.pk].append(result.body["receipt"])

    @initialize(target=polls, turnout=st.integers(0, 3 * counting.k()))
    def first_poll(self, turnout: int) -> Poll:
        """The walk starts with a poll that already has ballots, often enough for a batch."""
        poll = self._track(PollFactory(options=["A", "B", "C"]))
        for i in range(3):
            self._crowd(poll, turnout // 3 + (i < turnout % 3), [i], district_id=DISTRICTS[i])
        return poll

    @rule(target=polls, kind=st.sampled_from(["single", "multiple"]))
    def another_poll(self, kind: str) -> Poll:
        extra = {"min_choices": 1, "max_choices": 2} if kind == "multiple" else {}
        return self._track(PollFactory(kind=kind, options=["A", "B", "C"], **extra))

    @rule(
        target=citizens,
        district=st.sampled_from(DISTRICTS),
        birth_year=st.one_of(st.none(), st.integers(1930, 2010)),
        gender=st.sampled_from(["female", "male", "other", "undisclosed"]),
    )
    def citizen(self, district, birth_year, gender):
        return CitizenFactory(district_id=district, birth_year=birth_year, gender=gender)

    @rule(
        poll=polls,
        citizen=citizens,
        picks=st.lists(st.integers(0, 2), min_size=1, max_size=3),
        with_key=st.booleans(),
    )
    def cast(self, poll, citizen, picks, with_key):
        if not type(citizen).objects.filter(pk=citizen.pk).exists():
            return  # the account was deleted in an earlier step
        options = list(poll.options.order_by("position").values_list("pk", flat=True))
        chosen = [options[i] for i in picks]
        key = f"key-{uuid.uuid4().hex}" if with_key else None
        expected = refusal_of(poll, citizen, chosen)
        try:
            result = casting.cast_ballot(
                poll=poll, voter=citizen, option_ids=chosen, idempotency_key=key
            )
        except ApiError as refusal:
            assert (refusal.get_codes(), refusal.status_code) == expected, refusal
            return
        assert expected is None, expected
        assert result.status_code == 201
        assert poll.pk not in self.finished, "a ballot was accepted in a poll counted to the end"
        self.cast_choices[poll.pk].append(sorted(chosen))
        self.codes[poll.pk].append(result.body["receipt"])
        if key:
            self.keys[(poll.pk, citizen.pk)] = (key, chosen, result.body)

    @rule(
        poll=polls,
        voters=st.integers(1, 2 * counting.k()),
        picks=st.lists(st.integers(0, 2), min_size=1, max_size=2),
        district=st.sampled_from(DISTRICTS),
    )
    def a_crowd_votes(self, poll, voters, picks, district):
        """Many citizens at once, so batches of k fill within a walk's few dozen steps."""
        self._crowd(poll, voters, picks, district_id=district)

    @rule(data=st.data())
    def retry(self, data):
        if not self.keys:
            return
        (poll_id, citizen_id), (key, chosen, first) = data.draw(
            st.sampled_from(sorted(self.keys.items()))
        )
        citizen = CitizenFactory._meta.model.objects.filter(pk=citizen_id).first()
        if citizen is None:
            return
        replay = casting.cast_ballot(
            poll=Poll.objects.get(pk=poll_id), voter=citizen, option_ids=chosen, idempotency_key=key
        )
        assert replay.replayed
        assert replay.body == first

    @rule()
    def count(self):
        """One round of the counter service, whatever is countable now."""
        count_now()

    @rule(poll=polls)
    def close(self, poll):
        with contextlib.suppress(ApiError):  # already closed
            services.close_poll(poll=poll, by=None)

    @rule(poll=polls)
    def close_and_count_to_the_end(self, poll):
        close_and_count(poll)
        self.finished.add(poll.pk)

    @rule(poll=polls)
    def publish_results(self, poll):
        with contextlib.suppress(ApiError):  # not closed yet
            services.publish_results(poll=poll, by=None)

    @rule(citizen=citizens)
    def delete_account(self, citizen):
        from accounts.services import delete_account

        if type(citizen).objects.filter(pk=citizen.pk).exists():
            delete_account(user=citizen)

    @invariant()
    def every_ballot_sealed_or_counted_exactly_once(self):
        k = counting.k()
        for poll_id, cast in self.cast_choices.items():
            participations = Participation.objects.filter(poll_id=poll_id).count()
            sealed = Envelope.objects.filter(poll_id=poll_id).count()
            state = CountState.objects.filter(poll_id=poll_id).first()
            counted = state.counted if state else 0
            assert participations == len(cast) == counted + sealed
            tally = tallies.read(poll_id)
            # The oldest envelopes are counted first: the counters hold the first `counted`.
            assert tally.overall.ballots == counted
            assert tally.overall.votes == dict(
                Counter(o for choice in cast[:counted] for o in choice)
            )
            final = bool(state and state.final)
            # (A poll nobody voted in has nothing to count, and no count state.)
            assert final or poll_id not in self.finished or not cast
            if final:
                # Counted to the end: everything, or (the whole turnout below k) nothing at all.
                assert (counted, sealed) == ((len(cast), 0) if len(cast) >= k else (0, len(cast)))
            elif counted:
                assert sealed >= k, "an open poll's newest k ballots must stay sealed"
            box = (participations, counted, state.seq if state else 0, final)
            if self.checked.get(poll_id) != box:
                document = results.build(Poll.objects.get(pk=poll_id), tally)
                assert document["withheld"] == (counted == 0)
                assert document["total"] == (counted or None)
                assert_box_consistent([poll_id])
                assert_receipts_kept(self.codes[poll_id], [poll_id])
                self.checked[poll_id] = box

    def teardown(self):
        """Every walk ends with its polls closed and counted to the end: each ballot answered 201
        is then on the board exactly once (or, in a poll below k, all stay sealed)."""
        for poll in Poll.objects.filter(pk__in=list(self.cast_choices)):
            self.close_and_count_to_the_end(poll)
        self.every_ballot_sealed_or_counted_exactly_once()


@override_settings(BALLOT_THROTTLE_USER="100000/min", BALLOT_THROTTLE_IP="100000/min")
def test_ballot_life_keeps_every_count_exact():
    # CI runs about a thousand steps; `make stress` runs many more (STRESS_EXAMPLES).
    BallotLife.TestCase.settings = settings(
        max_examples=int(os.environ.get("STRESS_EXAMPLES", "25")),
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    BallotLife.TestCase().runTest()
