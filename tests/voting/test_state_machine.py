"""A property-based walk through the ballot's life: cast, retry, close, delete an account, publish
results — in any order, thousands of steps — and after every step each poll still has
participations == ballots == its tally, and the tally equals a recount."""

import contextlib
import os
import uuid

import pytest
from django.test.utils import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from config.api.errors import ApiError
from tests.factories import CitizenFactory, PollFactory
from voting import casting, services, tallies
from voting.models import Ballot, Participation, Poll

pytestmark = pytest.mark.django_db

DISTRICTS = ["1111053000", "1168064000", "1144000000", None]


class BallotLife(RuleBasedStateMachine):
    polls = Bundle("polls")
    citizens = Bundle("citizens")

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[int, int] = {}  # poll → ballots answered 201
        self.keys: dict[tuple[int, int], tuple[str, list[int], dict]] = {}

    @initialize(target=polls)
    def first_poll(self) -> Poll:
        poll = PollFactory(options=["A", "B", "C"])
        self.accepted[poll.pk] = 0
        return poll

    @rule(target=polls, kind=st.sampled_from(["single", "multiple"]))
    def another_poll(self, kind: str) -> Poll:
        extra = {"min_choices": 1, "max_choices": 2} if kind == "multiple" else {}
        poll = PollFactory(kind=kind, options=["A", "B", "C"], **extra)
        self.accepted[poll.pk] = 0
        return poll

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
        try:
            result = casting.cast_ballot(
                poll=poll, voter=citizen, option_ids=chosen, idempotency_key=key
            )
        except ApiError as refusal:
            assert refusal.status_code in (400, 403, 404, 409), refusal
            return
        assert result.status_code == 201
        self.accepted[poll.pk] += 1
        if key:
            self.keys[(poll.pk, citizen.pk)] = (key, chosen, result.body)

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

    @rule(poll=polls)
    def close(self, poll):
        with contextlib.suppress(ApiError):  # already closed
            services.close_poll(poll=poll, by=None)

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
    def every_ballot_counted_exactly_once(self):
        for poll_id, accepted in self.accepted.items():
            participations = Participation.objects.filter(poll_id=poll_id).count()
            ballots = Ballot.objects.filter(poll_id=poll_id).count()
            counted = tallies.read(poll_id)
            assert participations == ballots == counted.overall.ballots == accepted
            assert counted == tallies.recount(poll_id)


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
