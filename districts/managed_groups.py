"""Managed groups: an official makes a list of phone numbers the whole of a group's membership.

Numbers with a verified account become members, the others pending places that the number's
holder takes on verifying it (``districts.services.claim_pending_memberships``). The numbers
come from ``districts.phone_csv``; counts, never numbers, go to the report and the audit log.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction

from districts.models import Group, GroupMembership, PendingGroupMember
from districts.services import may_manage_group
from districts.signals import members_replaced

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class NotManagedGroupError(ValueError):
    """Members are set only on managed groups: citizens join self-declared groups themselves."""


class GroupOutsideJurisdictionError(PermissionDenied):
    """A gu's official acting on a city-wide group or on another gu's group."""


@dataclass(frozen=True)
class MembershipReport:
    """Counts only: the report is shown in the admin and must not list citizens.

    The split between members and pending places says which numbers have an account: only
    officials allowed to see phone numbers are shown it (``may_see_account_existence``); the
    others see ``places`` and ``places_before`` only, which do not depend on who signed up.
    """

    members: int  # members after the change
    pending: int  # places kept for numbers without a (verified) account, after the change
    members_added: int
    members_removed: int
    pending_added: int
    pending_removed: int
    places_before: int = 0  # members + pending places before the change

    @property
    def removed(self) -> int:
        return self.members_removed + self.pending_removed

    @property
    def places(self) -> int:
        """Members and pending places after the change: the number of valid numbers uploaded."""
        return self.members + self.pending


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _chunk_size() -> int:
    # SQLite allows 999 parameters per statement (Django's conservative figure); keep a margin
    # for the other parameters of the query. PostgreSQL has no such limit below 65,535.
    limit = connection.features.max_query_params or 10_000
    return min(5_000, limit - 10)


@dataclass(frozen=True)
class _Plan:
    places_before: int
    user_ids: set[int]
    pending: set[str]
    members_to_add: set[int]
    members_to_remove: set[int]
    pending_to_add: set[str]
    pending_to_remove: set[str]

    def report(self) -> MembershipReport:
        return MembershipReport(
            members=len(self.user_ids),
            pending=len(self.pending),
            members_added=len(self.members_to_add),
            members_removed=len(self.members_to_remove),
            pending_added=len(self.pending_to_add),
            pending_removed=len(self.pending_to_remove),
            places_before=self.places_before,
        )


def _plan(group_id: int, phones: Iterable[str]) -> _Plan:
    wanted = set(phones)
    bad = next((phone for phone in wanted if not _E164.match(phone)), None)
    if bad is not None:
        # Callers pass numbers through normalize_phone (parse_phone_csv does); anything else is a
        # programming error, not a row to report.
        raise ValueError("phone numbers must be normalised to E.164")
    size = _chunk_size()
    # Only a verified phone makes its holder a member (as in claim_pending_memberships); a number
    # registered but not yet verified keeps its place pending until it is.
    holders: dict[str, int] = {}
    for chunk in _chunks(sorted(wanted), size):
        for phone, user_id in (
            get_user_model()
            .objects.filter(phone__in=chunk, phone_verified=True)
            .values_list("phone", "id")
        ):
            if phone is not None:  # matched by number: never None, but the column is nullable
                holders[phone] = user_id
    user_ids = set(holders.values())
    pending = wanted - holders.keys()
    current_members = set(
        GroupMembership.objects.filter(group_id=group_id).values_list("user_id", flat=True)
    )
    current_pending = set(
        PendingGroupMember.objects.filter(group_id=group_id).values_list("phone", flat=True)
    )
    return _Plan(
        places_before=len(current_members) + len(current_pending),
        user_ids=user_ids,
        pending=pending,
        members_to_add=user_ids - current_members,
        members_to_remove=current_members - user_ids,
        pending_to_add=pending - current_pending,
        pending_to_remove=current_pending - pending,
    )


def _check_may_manage(by, group: Group) -> None:
    if by is not None and not may_manage_group(user=by, group=group):
        raise GroupOutsideJurisdictionError()


def preview_managed_group_members(
    *, group: Group, phones: Iterable[str], by=None
) -> MembershipReport:
    """What :func:`set_managed_group_members` would do now, without changing anything."""
    _check_may_manage(by, group)
    if group.kind != Group.Kind.MANAGED:
        raise NotManagedGroupError(group.pk)
    return _plan(group.pk, phones).report()


@transaction.atomic
def set_managed_group_members(*, group: Group, phones: Iterable[str], by=None) -> MembershipReport:
    """Make ``phones`` (E.164, e.g. from ``phone_csv.parse_phone_csv``) the whole of ``group``'s
    members.

    Numbers of citizens with a verified phone become members; the others are kept as pending
    places, which ``services.claim_pending_memberships`` turns into memberships once the number is
    verified. Members and pending places not among ``phones`` are removed. Duplicates count once.

    One transaction; the group row is locked so two uploads to the same group do not interleave.
    The number of queries does not grow with the number of phones (up to one chunk of a few
    thousand numbers, then one query more per chunk).

    ``by``, the official acting, must be allowed to manage the group (a gu's official, their
    gu's groups only); the admin checks it too, this is the last line.
    """
    locked = (
        Group.objects.select_for_update()
        .filter(pk=group.pk)
        .values_list("kind", "jurisdiction_id")
        .first()
    )
    if locked is None or locked[0] != Group.Kind.MANAGED:
        raise NotManagedGroupError(group.pk)
    # The jurisdiction as locked now, not as the caller's copy of the group says.
    _check_may_manage(by, Group(pk=group.pk, kind=locked[0], jurisdiction_id=locked[1]))
    plan = _plan(group.pk, phones)
    size = _chunk_size()
    for chunk in _chunks(sorted(plan.members_to_remove), size):
        GroupMembership.objects.filter(group_id=group.pk, user_id__in=chunk).delete()
    for chunk in _chunks(sorted(plan.pending_to_remove), size):
        PendingGroupMember.objects.filter(group_id=group.pk, phone__in=chunk).delete()
    if plan.members_to_add:
        GroupMembership.objects.bulk_create(
            [GroupMembership(group_id=group.pk, user_id=uid) for uid in plan.members_to_add],
            ignore_conflicts=True,
            batch_size=size,
        )
    if plan.pending_to_add:
        PendingGroupMember.objects.bulk_create(
            [PendingGroupMember(group_id=group.pk, phone=phone) for phone in plan.pending_to_add],
            ignore_conflicts=True,
            batch_size=size,
        )
    report = plan.report()
    if by is not None:
        _audit_replacement(by=by, group=group, report=report)
    return report


def _audit_replacement(*, by, group: Group, report: MembershipReport) -> None:
    # The audit log (a higher layer) hears it, in this transaction. One count (members and
    # pending places together), so the entry cannot say which numbers have an account.
    members_replaced.send(
        sender=Group,
        by=by,
        group=group,
        places_before=report.places_before,
        places=report.places,
    )
