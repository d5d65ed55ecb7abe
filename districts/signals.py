"""Receivers that keep groups consistent when accounts change."""

from django.db.models.signals import pre_delete

from districts import services


def _keep_managed_places(sender, instance, **kwargs) -> None:
    services.keep_managed_places(user=instance)


def connect() -> None:
    from django.contrib.auth import get_user_model

    pre_delete.connect(
        _keep_managed_places,
        sender=get_user_model(),
        dispatch_uid="districts.keep_managed_places",
    )
