"""Signals districts sends, so higher layers (the audit log) hear of changes without districts
importing them; and the receivers that keep groups consistent when accounts change."""

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import Signal

# Sent inside the transaction that replaced a managed group's members (districts.managed_groups),
# so what hears it commits or rolls back with the change. Arguments: by (the official, a User),
# group (the Group), places_before and places (int: members and pending places together — one
# count, so no one can tell which uploaded numbers have an account; never a phone number).
members_replaced = Signal()


def _keep_managed_places(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Imported here: districts.services' writers send the signals above.
    from districts import services

    services.keep_managed_places(user=instance)


def connect() -> None:
    from django.contrib.auth import get_user_model

    pre_delete.connect(
        _keep_managed_places,
        sender=get_user_model(),
        dispatch_uid="districts.keep_managed_places",
    )
