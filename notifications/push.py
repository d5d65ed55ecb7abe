"""Push notifications to phones, with pluggable backends chosen by ``settings.PUSH_BACKEND``.

Like the SMS backends (``accounts/sms.py``): ``LogPushBackend`` (the default) writes one log line
per message, ``InMemoryPushBackend`` keeps messages in :data:`outbox` for tests, and a real
provider (FCM, APNs, a Korean push service) is a subclass of :class:`BasePushBackend`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushMessage:
    """One notification for one citizen.

    ``key`` is stable for this citizen's copy of this event, whoever sends it and however often.
    ``tokens`` are the citizen's devices (possibly none: the inbox still has the notification).
    """

    key: str
    user_id: int
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    tokens: tuple[str, ...] = ()


class PushError(Exception):
    """The provider refused or could not be reached; the batch is retried later.

    ``retry_after``: the seconds the provider asked us to wait (its Retry-After), if it said.
    """

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class BasePushBackend:
    """Base class for push backends.

    A provider's backend implements :meth:`send_messages`:

    * it receives up to ``NOTIFY_PUSH_BATCH`` messages and sends each to every token in
      ``message.tokens`` (messages without tokens are skipped: nothing to deliver to);
    * it must pass ``message.key`` to the provider as the message's collapse identifier (APNs
      ``apns-collapse-id``, FCM ``android.notification.tag`` / ``apns-collapse-id``): a batch
      resent after a worker died between the provider's answer and our commit then replaces
      the notification on the phone instead of showing it twice;
    * it raises :class:`PushError` when the batch should be retried (provider down, rate
      limited); the rows stay unpushed and the next attempt sends them again;
    * tokens the provider reports as unregistered may be returned in ``self.dead_tokens``, and
      the worker deletes those devices.

    Never log tokens with the text: together they identify a phone and what it was told.
    """

    def __init__(self, **kwargs: object) -> None:
        self.dead_tokens: list[str] = []

    def open(self) -> None:
        """Open a connection to the provider, if it keeps one."""

    def close(self) -> None:
        """Close the connection opened by :meth:`open`."""

    def __enter__(self) -> BasePushBackend:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        """Send ``messages``; return how many were handed to the provider."""
        raise NotImplementedError("push backends must implement send_messages()")


class LogPushBackend(BasePushBackend):
    """Development backend: one log line per message, naming the citizen by id only."""

    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        for message in messages:
            logger.info(
                "push key=%s user=%s devices=%d title=%s",
                message.key,
                message.user_id,
                len(message.tokens),
                message.title,
            )
        return len(messages)


outbox: list[PushMessage] = []
"""Messages "sent" by :class:`InMemoryPushBackend`, like ``django.core.mail.outbox``."""


class InMemoryPushBackend(BasePushBackend):
    """Test backend: appends messages to :data:`outbox`."""

    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        outbox.extend(messages)
        return len(messages)


def get_backend(backend: str | None = None, **kwargs: object) -> BasePushBackend:
    """An instance of ``backend`` (a dotted path), by default ``settings.PUSH_BACKEND``."""
    return import_string(backend or settings.PUSH_BACKEND)(**kwargs)
