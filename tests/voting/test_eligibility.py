"""Each eligibility rule, through the ballot endpoint (the refusal) and the detail (the reason)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Verification
from districts.models import GroupMembership
from tests.ballot_box import cast_many, close_and_count, opened_envelopes
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SEOUL, YEOKSAM1
from tests.factories import CitizenFactory, GroupFactory, PollFactory, born
from voting import casting, counting, eligibility, selectors, tallies
from voting.models import Envelope, Participation

# Ages are this year's: the clock stands still, so the year cannot turn mid-test.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def vote(client, poll):
    return client.post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [poll.options.first().pk]}, format="json"
    )


def reason_in_detail(client, poll) -> tuple[bool, str | None]:
    body = client.get(f"/api/v1/polls/{poll.pk}/").json()
    return body["eligible"], body["ineligible_reason"]


def assert_refused(client, poll, reason: str) -> None:
    response = vote(client, poll)
    assert response.status_code == 403, response.json()
    body = response.json()
    assert body["code"] == "not_eligible"
    assert body["reason"] == reason
    assert isinstance(body["detail"], str) and body["detail"]
    assert reason_in_detail(client, poll) == (False, reason)
    # Nothing written.
    assert not Participation.objects.filter(poll=poll).exists()
    assert not Envelope.objects.filter(poll=poll).exists()


def assert_admitted(client, poll) -> None:
    assert reason_in_detail(client, poll) == (True, None)
    response = vote(client, poll)
    assert response.status_code == 201, response.json()
    assert Participation.objects.filter(poll=poll).count() == 1
    assert Envelope.objects.filter(poll=poll).count() == 1


# --- district ------------------------------------------------------------------------------------


def test_poll_for_another_gu_refuses(client_for):
    citizen = CitizenFactory(district_id=SAJIK)
    assert_refused(client_for(citizen), PollFactory(districts=[GANGNAM]), "district")


def test_poll_for_a_dong_of_another_gu_refuses(client_for):
    citizen = CitizenFactory(district_id=SAJIK)
    assert_refused(client_for(citizen), PollFactory(districts=[YEOKSAM1]), "district")


def test_poll_for_a_gu_admits_a_resident_of_its_dongs(client_for):
    citizen = CitizenFactory(district_id=SAJIK)
    assert_admitted(client_for(citizen), PollFactory(districts=[JONGNO]))


def test_poll_for_a_dong_admits_its_residents(client_for):
    citizen = CitizenFactory(district_id=SAJIK)
    assert_admitted(client_for(citizen), PollFactory(districts=[SAJIK]))


def test_poll_for_one_of_several_districts_admits(client_for):
    citizen = CitizenFactory(district_id=YEOKSAM1)
    assert_admitted(client_for(citizen), PollFactory(districts=[JONGNO, GANGNAM]))


@pytest.mark.parametrize("residence", [SAJIK, GANGNAM, YEOKSAM1, SEOUL])
def test_poll_for_the_city_admits_everyone_with_a_residence(client_for, residence):
    citizen = CitizenFactory(district_id=residence)
    assert_admitted(client_for(citizen), PollFactory(districts=[SEOUL]))


def test_poll_for_a_dong_refuses_a_citizen_known_only_by_gu(client_for):
    citizen = CitizenFactory(district_id=JONGNO)
    assert_refused(client_for(citizen), PollFactory(districts=[SAJIK]), "district")


def test_poll_for_a_gu_admits_a_citizen_known_by_that_gu(client_for):
    citizen = CitizenFactory(district_id=JONGNO)
    assert_admitted(client_for(citizen), PollFactory(districts=[JONGNO]))


def test_unrestricted_poll_admits_a_citizen_without_residence(client_for):
    assert_admitted(client_for(CitizenFactory()), PollFactory())


# --- group ---------------------------------------------------------------------------------------


def test_group_poll_refuses_a_citizen_in_none_of_its_groups(client_for):
    citizen = CitizenFactory()
    GroupMembership.objects.create(group=GroupFactory(), user=citizen)  # another group
    poll = PollFactory(groups=[GroupFactory(), GroupFactory()])
    assert_refused(client_for(citizen), poll, "group")


def test_group_poll_admits_a_member_of_one_of_its_groups(client_for):
    citizen = CitizenFactory()
    mine, other = GroupFactory(), GroupFactory()
    GroupMembership.objects.create(group=mine, user=citizen)
    assert_admitted(client_for(citizen), PollFactory(groups=[other, mine]))


def test_membership_of_an_inactive_group_does_not_count(client_for):
    citizen = CitizenFactory()
    retired = GroupFactory(is_active=False)
    GroupMembership.objects.create(group=retired, user=citizen)
    assert_refused(client_for(citizen), PollFactory(groups=[retired]), "group")


def test_other_members_do_not_make_me_eligible(client_for):
    group = GroupFactory()
    GroupMembership.objects.create(group=group, user=CitizenFactory())
    assert_refused(client_for(CitizenFactory()), PollFactory(groups=[group]), "group")


# --- age -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "allowed"),
    [(18, False), (19, True), (25, True), (34, True), (35, False), (70, False)],
)
def test_age_range(client_for, age, allowed):
    citizen = CitizenFactory(birth_year=born(age))
    poll = PollFactory(min_age=19, max_age=34)
    if allowed:
        assert_admitted(client_for(citizen), poll)
    else:
        assert_refused(client_for(citizen), poll, "age")


def test_minimum_age_only(client_for):
    assert_refused(client_for(CitizenFactory(birth_year=born(64))), PollFactory(min_age=65), "age")
    assert_admitted(client_for(CitizenFactory(birth_year=born(65))), PollFactory(min_age=65))


def test_maximum_age_only(client_for):
    assert_refused(client_for(CitizenFactory(birth_year=born(25))), PollFactory(max_age=24), "age")
    assert_admitted(client_for(CitizenFactory(birth_year=born(24))), PollFactory(max_age=24))


# --- verification --------------------------------------------------------------------------------


def test_resident_verification_poll_refuses_a_phone_verified_citizen(client_for):
    citizen = CitizenFactory(verification=Verification.PHONE)
    poll = PollFactory(min_verification=Verification.RESIDENT)
    assert_refused(client_for(citizen), poll, "verification")


def test_resident_verification_poll_admits_a_resident_verified_citizen(client_for):
    citizen = CitizenFactory(verification=Verification.RESIDENT)
    assert_admitted(client_for(citizen), PollFactory(min_verification=Verification.RESIDENT))


def test_unverified_citizen_cannot_vote_in_a_default_poll(client_for):
    citizen = CitizenFactory(verification=Verification.UNVERIFIED, phone_verified=False)
    assert_refused(client_for(citizen), PollFactory(), "verification")


# --- profile_incomplete --------------------------------------------------------------------------


def test_district_poll_and_no_residence_is_profile_incomplete(client_for):
    citizen = CitizenFactory(district_id=None)
    assert_refused(client_for(citizen), PollFactory(districts=[JONGNO]), "profile_incomplete")


def test_city_poll_and_no_residence_is_profile_incomplete(client_for):
    citizen = CitizenFactory(district_id=None)
    assert_refused(client_for(citizen), PollFactory(districts=[SEOUL]), "profile_incomplete")


def test_age_limited_poll_and_no_birth_year_is_profile_incomplete(client_for):
    citizen = CitizenFactory(birth_year=None)
    assert_refused(client_for(citizen), PollFactory(min_age=19), "profile_incomplete")
    assert_refused(client_for(citizen), PollFactory(max_age=34), "profile_incomplete")


def test_group_poll_does_not_need_a_profile(client_for):
    citizen = CitizenFactory(district_id=None, birth_year=None)
    group = GroupFactory()
    GroupMembership.objects.create(group=group, user=citizen)
    assert_admitted(client_for(citizen), PollFactory(groups=[group]))


# --- not_open ------------------------------------------------------------------------------------


def test_upcoming_poll_is_not_open(client_for):
    now = timezone.now()
    poll = PollFactory(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=3))
    client = client_for(CitizenFactory())

    response = vote(client, poll)

    assert response.status_code == 409
    assert response.json()["code"] == "poll_not_open"
    assert reason_in_detail(client, poll) == (False, "not_open")
    assert not Envelope.objects.filter(poll=poll).exists()


def test_closed_poll_is_not_open(client_for):
    now = timezone.now()
    poll = PollFactory(opens_at=now - timedelta(days=3), closes_at=now - timedelta(seconds=1))
    client = client_for(CitizenFactory())

    response = vote(client, poll)

    assert response.status_code == 409
    assert response.json()["code"] == "poll_not_open"
    assert reason_in_detail(client, poll) == (False, "not_open")
    assert not Participation.objects.filter(poll=poll).exists()


def test_not_open_is_reported_before_audience_reasons(client_for):
    now = timezone.now()
    poll = PollFactory(
        districts=[GANGNAM], opens_at=now - timedelta(days=3), closes_at=now - timedelta(hours=1)
    )
    client = client_for(CitizenFactory(district_id=SAJIK))
    assert vote(client, poll).json()["code"] == "poll_not_open"
    assert reason_in_detail(client, poll) == (False, "not_open")


def test_verification_is_reported_before_district(client_for):
    citizen = CitizenFactory(district_id=SAJIK)
    poll = PollFactory(districts=[GANGNAM], min_verification=Verification.RESIDENT)
    assert_refused(client_for(citizen), poll, "verification")


# --- the selector, as queries --------------------------------------------------------------------


def test_polls_open_to_a_citizen_is_one_query():
    citizen = CitizenFactory(district_id=SAJIK, birth_year=born(30))
    group = GroupFactory()
    GroupMembership.objects.create(group=group, user=citizen)
    expected = {
        PollFactory().pk,
        PollFactory(districts=[JONGNO]).pk,
        PollFactory(groups=[group]).pk,
        PollFactory(min_age=20, max_age=39).pk,
    }
    PollFactory(districts=[GANGNAM])
    PollFactory(groups=[GroupFactory()])
    PollFactory(min_age=40)
    PollFactory(published=False)
    now = timezone.now()
    PollFactory(opens_at=now - timedelta(days=3), closes_at=now - timedelta(hours=1))

    voter = eligibility.Voter.of(citizen)
    with CaptureQueriesContext(connection) as ctx:
        found = set(eligibility.open_to(voter).values_list("pk", flat=True))

    assert found == expected
    assert len(ctx.captured_queries) == 1
    assert set(selectors.polls_open_to(citizen).values_list("pk", flat=True)) == expected


def test_voter_of_a_dong_resident_knows_the_whole_chain():
    voter = eligibility.Voter.of(CitizenFactory(district_id=SAJIK, birth_year=1990))
    assert set(voter.district_codes) == {SAJIK, JONGNO, SEOUL}
    assert (voter.gu_code, voter.dong_code) == (JONGNO, SAJIK)


def test_voter_known_by_gu_only():
    voter = eligibility.Voter.of(CitizenFactory(district_id=GANGNAM))
    assert set(voter.district_codes) == {GANGNAM, SEOUL}
    assert (voter.gu_code, voter.dong_code) == (GANGNAM, "")


def test_ballot_of_a_citizen_known_by_gu_records_the_gu():
    """The envelope carries the gu for the breakdown, and the count publishes it there."""
    citizen = CitizenFactory(district_id=GANGNAM)
    poll = PollFactory()
    casting.cast_ballot(poll=poll, voter=citizen, option_ids=[poll.options.first().pk])
    (sealed,) = opened_envelopes(poll)
    assert sealed["g"] == GANGNAM

    cast_many(poll, counting.k() - 1, district_id=YEOKSAM1)
    close_and_count(poll)

    assert set(tallies.read(poll.pk).breakdown["gu"]) == {GANGNAM}
    assert tallies.read(poll.pk).breakdown["gu"][GANGNAM].ballots == counting.k()
