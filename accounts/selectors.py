"""Reads of citizens' accounts: the profile the app shows, and who a socket's ticket names."""

from django.db.models import Prefetch

from accounts.models import User
from districts.models import Group


def me(*, user_id: int) -> User:
    """The citizen's profile with its residence (and the residence's gu) and active groups
    (``active_groups``, by name), in three queries."""
    return (
        User.objects.select_related("district__parent")
        .prefetch_related(
            Prefetch(
                "citizen_groups",
                queryset=Group.objects.filter(is_active=True).order_by("name"),
                to_attr="active_groups",
            )
        )
        .get(pk=user_id)
    )


def is_group_member(*, user: User, group_id: int) -> bool:
    return user.group_memberships.filter(group_id=group_id).exists()


def active_user(*, user_id: int) -> User | None:
    """The account, unless it was deactivated or deleted meanwhile."""
    return User.objects.filter(pk=user_id, is_active=True).first()
