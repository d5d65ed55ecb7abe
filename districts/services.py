"""Writes on districts and groups. Views and the admin call these; they hold no logic themselves."""

from django.db import transaction

from districts.models import GroupMembership, PendingGroupMember


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
