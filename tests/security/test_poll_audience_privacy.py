"""A poll's audience is no back door into groups or numbers an official may not know.

Attackers: an official without the permission to see phone numbers, who uploads one number to a
managed group and targets a draft poll at it to read "reaches 1 (or 0) citizens"; and a gu
official who posts another gu's group id into their poll's audience.
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from districts.models import Group, GroupMembership, PendingGroupMember
from tests.district_codes import GANGNAM, JONGNO
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory, PollFactory
from tests.voting.test_admin import errors_of, new_poll_data

pytestmark = pytest.mark.django_db

POLLS = "/admin/voting/poll/"


def _client(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def _estimate(client: Client, poll) -> str:
    page = client.get(f"{POLLS}{poll.pk}/change/")
    assert page.status_code == 200
    return page.content.decode()


@pytest.mark.parametrize("has_account", [True, False])
def test_the_estimate_over_a_managed_group_tells_nothing_without_the_phone_permission(has_account):
    official = OfficialFactory(role="official")
    group = GroupFactory(kind=Group.Kind.MANAGED)
    if has_account:
        GroupMembership.objects.create(group=group, user=CitizenFactory())
    else:
        PendingGroupMember.objects.create(group=group, phone="+821055507777")
    poll = PollFactory(published=False, owner=official)
    poll.groups.add(group)

    page = _estimate(_client(official), poll)

    assert "shown to officials who may see phone numbers" in page
    assert "Reaches 1 registered" not in page
    assert "Reaches 0 registered" not in page


def test_officials_who_may_see_phone_numbers_still_get_the_estimate():
    official = OfficialFactory(role="official")
    official.user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="view_phone_number")
    )
    group = GroupFactory(kind=Group.Kind.MANAGED)
    GroupMembership.objects.create(group=group, user=CitizenFactory())
    poll = PollFactory(published=False, owner=official)
    poll.groups.add(group)

    assert "Reaches 1 registered" in _estimate(_client(official), poll)


def test_a_gu_official_cannot_target_another_gus_group_by_posting_its_id():
    official = OfficialFactory(role="official", gu=JONGNO)
    theirs = GroupFactory(kind=Group.Kind.MANAGED, jurisdiction_id=GANGNAM)

    response = _client(official).post(
        f"{POLLS}add/", new_poll_data(districts=(JONGNO,), groups=[str(theirs.pk)])
    )

    assert "groups" in errors_of(response)
    assert not theirs.polls.exists()
