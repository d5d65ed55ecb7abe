"""Writes on citizens' accounts. The API and the admin call these and hold no rules themselves."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import profile_history
from accounts.models import Gender, ProfileChange, ProfileField, User, Verification
from core.errors import ApiError, Conflict, Forbidden
from districts.models import District, Group, GroupMembership


class ResidenceChangeTooSoon(Conflict):
    default_code = "residence_change_too_soon"
    default_detail = _("Your residence was changed recently; it can be changed again later.")


class InvalidDistrict(ApiError):
    default_code = "invalid_district"
    default_detail = _("Choose an active gu or dong of the city as your residence.")


class GroupIsManaged(Forbidden):
    default_code = "group_managed"
    default_detail = _("Officials manage the members of this group; it cannot be joined or left.")


class GroupUnavailable(ApiError):
    default_code = "group_unavailable"
    default_detail = _("This group does not exist or is no longer active.")


class ProfileChangeTooSoon(Conflict):
    default_code = "profile_change_too_soon"
    default_detail = _(
        "Your birth year or gender was set recently; it can be corrected again later, or "
        "through identity verification."
    )


def next_residence_change_at(user: User) -> datetime | None:
    """When the residence may change again; ``None`` means now."""
    return profile_history.next_change_at(user=user, field=ProfileField.RESIDENCE)


@dataclass(frozen=True)
class ProfileChanges:
    district: District | None = None
    birth_year: int | None = None
    gender: Gender | None = None


@transaction.atomic
def update_profile(*, user: User, changes: ProfileChanges) -> User:
    """Apply a citizen's own profile edits.

    Residence, birth year and gender decide which polls a citizen may vote in, so each may be
    declared once and then changed only once per cooldown (nobody hops districts, or ages, to vote
    in each). The clocks belong to the phone number (accounts/profile_history.py).
    """
    # Lock the row: two edits at once must not both pass the cooldown check.
    user = User.objects.select_for_update().get(pk=user.pk)
    last = profile_history.last_changes(user=user)
    fields: list[str] = []
    changed: list[str] = []
    if changes.district is not None and changes.district.pk != user.district_id:
        district = changes.district
        if not district.is_active or district.level == District.Level.CITY:
            raise InvalidDistrict()
        next_at = profile_history.next_change_at(user=user, field=ProfileField.RESIDENCE, last=last)
        if next_at is not None:
            raise ResidenceChangeTooSoon(next_change_at=timezone.localtime(next_at).isoformat())
        user.district = district
        user.district_changed_at = timezone.now()
        fields += ["district", "district_changed_at"]
        changed.append(ProfileField.RESIDENCE)
    for name, value in (
        (ProfileField.BIRTH_YEAR, changes.birth_year),
        (ProfileField.GENDER, changes.gender),
    ):
        if value is None or value == getattr(user, name):
            continue
        next_at = profile_history.next_change_at(user=user, field=name, last=last)
        if next_at is not None:
            raise ProfileChangeTooSoon(
                field=str(name), next_change_at=timezone.localtime(next_at).isoformat()
            )
        setattr(user, name, value)
        fields.append(name)
        changed.append(name)
    if fields:
        user.save(update_fields=fields)
    now = user.district_changed_at if ProfileField.RESIDENCE in changed else timezone.now()
    for name in changed:
        profile_history.record_change(
            user=user, field=name, source=ProfileChange.Source.CITIZEN, at=now
        )
    return user


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Remove the account and its personal data.

    Ballots are anonymous and never pointed at the account, so they stay counted. Group
    memberships and sessions go with the user (sessions no longer resolve to a user).
    """
    User.objects.filter(pk=user.pk).delete()


def join_group(*, user: User, group_id: int) -> Group:
    group = _self_service_group(group_id)
    GroupMembership.objects.get_or_create(group=group, user=user)
    return group


def leave_group(*, user: User, group_id: int) -> bool:
    """Leave a self-declared group. Returns whether the user was a member."""
    group = _self_service_group(group_id, allow_inactive=True)
    deleted, _rows = GroupMembership.objects.filter(group=group, user=user).delete()
    return deleted > 0


def _self_service_group(group_id: int, *, allow_inactive: bool = False) -> Group:
    group = Group.objects.filter(pk=group_id).first()
    if group is None or (not group.is_active and not allow_inactive):
        raise GroupUnavailable()
    if not group.is_self_declared:
        raise GroupIsManaged()
    return group


@transaction.atomic
def set_verification(
    *, user: User, level: Verification, residence: District | None = None, birth_year: Any = None
) -> User:
    """Set how sure we are of who the citizen is (officials, or an identity provider).

    A provider that confirms residence or birth year is authoritative: its values replace the
    self-declared ones, and the residence cooldown restarts.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    user.verification = level
    fields = ["verification"]
    if residence is not None and residence.pk != user.district_id:
        user.district = residence
        user.district_changed_at = timezone.now()
        fields += ["district", "district_changed_at"]
        profile_history.record_change(
            user=user, field=ProfileField.RESIDENCE, source=ProfileChange.Source.PROVIDER
        )
    if birth_year is not None and birth_year != user.birth_year:
        user.birth_year = birth_year
        fields.append("birth_year")
        profile_history.record_change(
            user=user, field=ProfileField.BIRTH_YEAR, source=ProfileChange.Source.PROVIDER
        )
    user.save(update_fields=fields)
    return user
