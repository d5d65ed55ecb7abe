"""Cooldowns on residence, birth year and gender, kept against the phone number's keyed hash.

A citizen's residence decides which district polls they may vote in, and birth year and gender
decide age- and gender-targeted polls. Each may be declared freely once; after that it changes
only when its cooldown has passed (or through verification, or two officials). The clock belongs
to the phone number, not the account, so deleting the account and signing up again with the same
SIM changes nothing (see ProfileChange).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from accounts.models import ProfileChange, ProfileField, User
from accounts.phone import phone_key


def cooldown(field: str) -> timedelta:
    if field == ProfileField.RESIDENCE:
        return timedelta(days=settings.RESIDENCE_CHANGE_COOLDOWN_DAYS)
    return timedelta(days=settings.PROFILE_CORRECTION_COOLDOWN_DAYS)


def last_changes(*, user: User) -> dict[str, datetime]:
    """{field: when it last changed} for the citizen's number (one query)."""
    last: dict[str, datetime] = {}
    if user.phone:
        rows = (
            ProfileChange.objects.filter(phone_key=phone_key(user.phone))
            .values("field")
            .annotate(at=Max("at"))
        )
        last = {row["field"]: row["at"] for row in rows}
    # Accounts from before the history existed, and accounts without a phone, carry the
    # residence clock on the row itself.
    if user.district_changed_at is not None:
        residence = last.get(ProfileField.RESIDENCE)
        if residence is None or user.district_changed_at > residence:
            last[ProfileField.RESIDENCE] = user.district_changed_at
    return last


def next_change_at(
    *, user: User, field: str, last: dict[str, datetime] | None = None
) -> datetime | None:
    """When ``field`` may change again; ``None`` means now."""
    if last is None:
        last = last_changes(user=user)
    changed = last.get(field)
    if changed is None:
        return None
    at = changed + cooldown(field)
    return at if at > timezone.now() else None


def record_change(*, user: User, field: str, source: str, at: datetime | None = None) -> None:
    if user.phone:
        ProfileChange.objects.create(
            phone_key=phone_key(user.phone), field=field, source=source, at=at or timezone.now()
        )


def carry_over(*, old_phone: str, new_phone: str) -> None:
    """A citizen moving to a new number takes their clocks along (the newest of the two)."""
    old, new = phone_key(old_phone), phone_key(new_phone)
    rows = ProfileChange.objects.filter(phone_key=old).values("field").annotate(at=Max("at"))
    ProfileChange.objects.bulk_create(
        ProfileChange(phone_key=new, field=row["field"], at=row["at"], source="citizen")
        for row in rows
    )
