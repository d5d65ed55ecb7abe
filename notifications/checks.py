"""``manage.py check``: every kind of notification has an app that says who receives it."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error

from notifications import recipients
from notifications.models import Kind


def every_kind_has_recipients(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    missing = sorted(set(Kind.values) - recipients.registered_kinds())
    return [
        Error(
            f"No app registers the recipients of {kind!r} notifications; their events would "
            "never be delivered.",
            hint="Call notifications.recipients.register() in the producing app's ready().",
            obj="notifications",
            id="notifications.E001",
        )
        for kind in missing
    ]
