"""The production backend: each device's pushes go to its platform's provider (Android: FCM,
iOS: APNs), as recorded when the app registered the device (``Device.platform``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from notifications.models import Device
from notifications.push import BasePushBackend, PushError, PushMessage
from notifications.push_providers.apns import APNsPushBackend
from notifications.push_providers.fcm import FCMPushBackend

PROVIDERS: dict[str, type[BasePushBackend]] = {
    Device.Platform.ANDROID: FCMPushBackend,
    Device.Platform.IOS: APNsPushBackend,
}


def for_platform(
    messages: Sequence[PushMessage], platforms: dict[str, str], platform: str
) -> list[PushMessage]:
    """``messages`` narrowed to the tokens of ``platform`` (messages left without any dropped)."""
    narrowed = []
    for message in messages:
        tokens = tuple(token for token in message.tokens if platforms.get(token) == platform)
        if tokens:
            narrowed.append(dataclasses.replace(message, tokens=tokens))
    return narrowed


class PlatformPushBackend(BasePushBackend):
    """Routes each token to FCM or APNs by its device's platform. A provider is configured only
    when a batch holds a device of its platform, so an Android-only pilot needs no APNs key."""

    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        tokens = {token for message in messages for token in message.tokens}
        if not tokens:
            return 0
        platforms = dict(Device.objects.filter(token__in=tokens).values_list("token", "platform"))
        sent = 0
        errors: list[PushError] = []
        for platform, provider in PROVIDERS.items():
            part = for_platform(messages, platforms, platform)
            if not part:
                continue
            backend = provider()
            # Both providers are tried before a failure is raised: an APNs outage must not hold
            # back Android phones (the retried batch repeats them under the same collapse ids).
            try:
                with backend:
                    sent += backend.send_messages(part)
            except PushError as exc:
                errors.append(exc)
            self.dead_tokens.extend(backend.dead_tokens)
        if errors:
            waits = [exc.retry_after for exc in errors if exc.retry_after is not None]
            raise PushError(
                "; ".join(str(exc) for exc in errors), retry_after=max(waits) if waits else None
            )
        return sent
