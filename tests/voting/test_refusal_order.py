"""Why a citizen may not vote, for a poll that has not opened yet: the app shows the reason on the
poll's page, and "not open" would tell an outsider to come back on the opening day. The ballot and
the detail give the same reason; a poll that is over says "not open" whatever else."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Verification
from tests.district_codes import GANGNAM, SAJIK
from tests.factories import CitizenFactory, GroupFactory, PollFactory, born
from tests.voting.test_eligibility import reason_in_detail, vote
from voting import eligibility
from voting.models import Participation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _upcoming(**kwargs):
    now = timezone.now()
    return PollFactory(
        opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=3), **kwargs
    )


def _closed(**kwargs):
    now = timezone.now()
    return PollFactory(
        opens_at=now - timedelta(days=3), closes_at=now - timedelta(hours=1), **kwargs
    )


OUTSIDERS = {
    "district": (lambda: {"districts": [GANGNAM]}, {"district_id": SAJIK}),
    "group": (lambda: {"groups": [GroupFactory()]}, {"district_id": SAJIK}),
    "age": (lambda: {"min_age": 60}, {"district_id": SAJIK, "birth_year": born(30)}),
    "verification": (
        lambda: {"min_verification": Verification.RESIDENT},
        {"district_id": SAJIK, "verification": Verification.PHONE},
    ),
    "profile_incomplete": (lambda: {"districts": [GANGNAM]}, {"district_id": None}),
}


@pytest.mark.parametrize("reason", list(OUTSIDERS))
def test_an_upcoming_poll_tells_an_outsider_why(client_for, reason):
    poll_kwargs, citizen_kwargs = OUTSIDERS[reason]
    poll = _upcoming(**poll_kwargs())
    client = client_for(CitizenFactory(**citizen_kwargs))

    assert reason_in_detail(client, poll) == (False, reason)
    response = vote(client, poll)
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "not_eligible"
    assert response.json()["reason"] == reason
    assert not Participation.objects.filter(poll=poll).exists()


def test_an_upcoming_poll_is_not_open_for_its_audience(client_for):
    poll = _upcoming(districts=[SAJIK])
    client = client_for(CitizenFactory(district_id=SAJIK))

    assert reason_in_detail(client, poll) == (False, "not_open")
    response = vote(client, poll)
    assert response.status_code == 409
    assert response.json()["code"] == "poll_not_open"


@pytest.mark.parametrize("reason", list(OUTSIDERS))
def test_a_closed_poll_is_not_open_whatever_else(client_for, reason):
    poll_kwargs, citizen_kwargs = OUTSIDERS[reason]
    poll = _closed(**poll_kwargs())
    client = client_for(CitizenFactory(**citizen_kwargs))

    assert reason_in_detail(client, poll) == (False, "not_open")
    response = vote(client, poll)
    assert response.status_code == 409
    assert response.json()["code"] == "poll_not_open"


def test_the_order_of_reasons():
    every_rule_fails = {f"rule_{reason}": False for reason in eligibility.REASONS}
    assert eligibility.refusal_from(every_rule_fails) == "not_open"
    assert eligibility.refusal_from(every_rule_fails, upcoming=True) == "verification"
    only_closed = {**{key: True for key in every_rule_fails}, "rule_not_open": False}
    assert eligibility.refusal_from(only_closed, upcoming=True) == "not_open"
    assert eligibility.refusal_from({key: True for key in every_rule_fails}) is None
