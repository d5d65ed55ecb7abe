"""Lower layers tell the audit log by signal (they may not import it): each signal's receiver is
connected, writes exactly the entry the log kept before the move, and commits or rolls back with
the change it records. End-to-end flows: tests/districts/test_group_upload.py,
tests/accounts/test_phone_change.py, tests/security/test_officials_adversarial.py."""

import pytest
from django.db import transaction

from accounts.signals import citizen_changed
from audit.chain import verify_chain
from audit.models import AuditEntry
from districts.managed_groups import set_managed_group_members
from districts.models import Group, GroupMembership, PendingGroupMember
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory

pytestmark = pytest.mark.django_db


def test_replacing_a_managed_groups_members_is_recorded_as_one_count():
    official = OfficialFactory(is_superuser=True)
    group = GroupFactory(kind=Group.Kind.MANAGED, name="어르신 돌봄")
    member = CitizenFactory(phone="+821011112222", phone_verified=True)

    set_managed_group_members(group=group, phones=[member.phone, "+821033334444"], by=official)

    entry = AuditEntry.objects.get()
    assert (entry.subject_type, entry.subject_id, entry.title) == ("group", group.pk, "어르신 돌봄")
    assert (entry.action, entry.actor, entry.actor_name) == (
        AuditEntry.Action.REPLACE_MEMBERS,
        official,
        official.username,
    )
    assert entry.changes == {"members_and_pending": [0, 2]}  # never a phone number
    assert verify_chain().ok


def test_the_groups_entry_rolls_back_with_the_replacement():
    official = OfficialFactory(is_superuser=True)
    group = GroupFactory(kind=Group.Kind.MANAGED)

    with pytest.raises(RuntimeError), transaction.atomic():
        set_managed_group_members(group=group, phones=["+821055556666"], by=official)
        raise RuntimeError("the caller's transaction fails after the replacement")

    assert not AuditEntry.objects.exists()
    assert not PendingGroupMember.objects.exists() and not GroupMembership.objects.exists()


def test_a_replacement_without_an_official_is_not_recorded():
    """Only officials' work is audited (a data load passes no ``by``)."""
    group = GroupFactory(kind=Group.Kind.MANAGED)
    set_managed_group_members(group=group, phones=["+821055556666"])
    assert not AuditEntry.objects.exists()


def test_a_citizen_change_is_recorded_under_a_masked_title():
    official = OfficialFactory()
    citizen_changed.send(
        sender=None,
        actor=official,
        citizen_id=41,
        action=AuditEntry.Action.REQUEST_CHANGE,
        changes={"kind": "residence", "to": "종로구"},
    )

    entry = AuditEntry.objects.get()
    assert (entry.subject_type, entry.subject_id, entry.title) == ("citizen", 41, "citizen #41")
    assert (entry.action, entry.actor) == (AuditEntry.Action.REQUEST_CHANGE, official)
    assert entry.changes == {"kind": "residence", "to": "종로구"}
