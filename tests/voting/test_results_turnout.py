"""The results page sets the participants against the audience: how many of the citizens who
may vote in the poll did (voting/admin/results.py ``audience_turnout``).

The audience is counted as it is now. Its count is withheld where the total is (fewer than k
counted), and over a managed group from an official who may not see phone numbers: the count
would tell them which uploaded numbers have accounts.
"""

import pytest
from django.test import Client

from districts.models import Group
from tests.ballot_box import cast_many, close_and_count
from tests.district_codes import GANGNAM, SAJIK, SINSA
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from voting.casting import cast_ballot

pytestmark = pytest.mark.django_db

K = 10  # settings.BALLOT_BATCH_MIN in the tests


def results_of(official, poll):
    client = Client(headers={"accept-language": "en"})
    client.force_login(official)
    response = client.get(f"/admin/voting/poll/{poll.pk}/results/")
    assert response.status_code == 200
    return response


def test_the_participants_are_set_against_the_citizens_who_may_vote():
    poll = PollFactory(title="강남 투표", options=["찬성", "반대"], districts=[GANGNAM])
    cast_many(poll, 2 * K, district_id=SINSA)
    for _ in range(5):  # in the audience, did not vote
        CitizenFactory(district_id=SINSA)
    CitizenFactory(district_id=SAJIK)  # outside it
    close_and_count(poll)

    response = results_of(OfficialFactory(role="official"), poll)

    assert response.context["turnout"] == {
        "participants": 2 * K,
        "eligible": 2 * K + 5,
        "percent": "80.0",
        "bar": "80.0",
    }
    assert "20 of the 25 citizens who may vote in it now (80.0%)" in response.content.decode()


def test_no_turnout_while_the_total_is_withheld():
    poll = PollFactory(options=["찬성", "반대"], districts=[GANGNAM])
    cast_many(poll, K - 1, district_id=SINSA)
    close_and_count(poll)

    response = results_of(OfficialFactory(role="official"), poll)

    assert response.context["turnout"] is None
    assert 'id="results-turnout"' not in response.content.decode()


def test_a_managed_groups_audience_is_counted_only_for_officials_who_may_see_phone_numbers():
    """An official without the phone permission could otherwise learn how many of the numbers
    uploaded to the group have accounts."""
    group = Group.objects.create(name="위원회", kind=Group.Kind.MANAGED)
    poll = PollFactory(options=["찬성", "반대"], groups=[group])
    options = list(poll.options.values_list("pk", flat=True))
    for i in range(2 * K):
        member = CitizenFactory(district_id=SAJIK)
        group.memberships.create(user=member)
        cast_ballot(poll=poll, voter=member, option_ids=[options[i % 2]])
    close_and_count(poll)

    without = results_of(OfficialFactory(role="official", gu=None), poll)
    allowed = results_of(
        OfficialFactory(role="official", perms=["accounts.view_phone_number"]), poll
    )

    assert without.context["turnout"] is None
    assert allowed.context["turnout"]["eligible"] == 2 * K
