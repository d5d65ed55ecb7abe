"""The citizen's own notification settings, inbox state and devices."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from notifications.models import Device, Kind, Notification, OptOut


def preferences(user: User) -> dict[str, bool]:
    """{kind: wanted} for every kind (one query)."""
    opted_out = set(OptOut.objects.filter(user=user).values_list("kind", flat=True))
    return {kind: kind not in opted_out for kind in Kind.values}


@transaction.atomic
def set_preferences(*, user: User, wanted: dict[str, bool]) -> dict[str, bool]:
    off = [kind for kind, on in wanted.items() if not on]
    on = [kind for kind, on in wanted.items() if on]
    if on:
        OptOut.objects.filter(user=user, kind__in=on).delete()
    OptOut.objects.bulk_create(
        [OptOut(user=user, kind=kind) for kind in off], ignore_conflicts=True
    )
    return preferences(user)


def inbox(user: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(user=user)
        .select_related("event")
        .only("id", "created_at", "read_at", "event__kind", "event__subject_id", "event__payload")
        .order_by("-id")
    )


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(*, user: User, ids: list[int] | None) -> int:
    """Mark the given notifications (or all, ``ids=None``) read; only the user's own change."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=timezone.now())


@transaction.atomic
def register_device(*, user: User, token: str, platform: str) -> Device:
    """A token belongs to one phone, so to whoever signed in on it last."""
    device, _ = Device.objects.update_or_create(
        token=token, defaults={"user": user, "platform": platform}
    )
    return device


def unregister_device(*, user: User, token: str) -> bool:
    deleted, _ = Device.objects.filter(user=user, token=token).delete()
    return bool(deleted)
