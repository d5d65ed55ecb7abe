"""Writes on groups' memberships, and who may manage which group. Views and the admin call these;
they hold no logic themselves. Setting a managed group's members from a list of numbers is
``districts.managed_groups``; reading the list from a CSV, ``districts.phone_csv``."""

from django.db import transaction
from django.db.models import Q, QuerySet

from districts.models import Group, GroupMembership, PendingGroupMember


@transaction.atomic
def claim_pending_memberships(*, user) -> int:
    """Turn the managed-group places kept for ``user``'s phone into memberships.

    Called once the phone is verified: only the holder of the number may take its places.
    Returns the number of groups joined.
    """
    if not user.phone:
        return 0
    pending = PendingGroupMember.objects.filter(phone=user.phone)
    group_ids = list(pending.values_list("group_id", flat=True))
    GroupMembership.objects.bulk_create(
        [GroupMembership(group_id=group_id, user=user) for group_id in group_ids],
        ignore_conflicts=True,
    )
    pending.delete()
    return len(group_ids)


# --- Who may do what with groups ---------------------------------------------------------------


def is_city_wide(user) -> bool:
    # As voting.scoping.is_city_wide (not imported: districts sits below voting).
    return user.is_superuser or user.jurisdiction_id is None


def groups_visible_to(user, queryset: QuerySet[Group] | None = None) -> QuerySet[Group]:
    """City-wide officials see every group; a gu's officials their gu's and the city-wide ones.

    City-wide groups stay visible (read-only, see :func:`may_manage_group`) so a gu's polls can
    be targeted at them; another gu's groups do not exist for a gu's official.
    """
    queryset = Group.objects.all() if queryset is None else queryset
    if not (user.is_active and user.is_staff):
        return queryset.none()
    if is_city_wide(user):
        return queryset
    return queryset.filter(Q(jurisdiction__isnull=True) | Q(jurisdiction_id=user.jurisdiction_id))


def may_manage_group(*, user, group: Group) -> bool:
    """Edit, delete, set members: the city's officials any group, a gu's officials their gu's."""
    if not (user.is_active and user.is_staff):
        return False
    if is_city_wide(user):
        return True
    return group.jurisdiction_id is not None and group.jurisdiction_id == user.jurisdiction_id


def may_see_account_existence(user) -> bool:
    """Whether ``user`` may learn which uploaded numbers belong to an account.

    Telling members from pending places says exactly that, so it goes with the permission to see
    citizens' phone numbers: without it, a one-number upload would be an account lookup.
    """
    return user.has_perm("accounts.view_phone_number")


def keep_managed_places(*, user) -> int:
    """Before an account is deleted: its managed-group memberships become pending places again.

    The group was set from phone numbers, and the number still belongs to the group: without
    this, the group's count would drop when the holder of one uploaded number deletes their
    account, telling an official that the number had an account. If the citizen signs up again,
    :func:`claim_pending_memberships` puts them back. Returns the number of places kept.
    """
    if not user.phone or not user.phone_verified:
        return 0
    group_ids = list(
        GroupMembership.objects.filter(user=user, group__kind=Group.Kind.MANAGED).values_list(
            "group_id", flat=True
        )
    )
    PendingGroupMember.objects.bulk_create(
        [PendingGroupMember(group_id=group_id, phone=user.phone) for group_id in group_ids],
        ignore_conflicts=True,
    )
    return len(group_ids)
