"""Text messages (SMS), with pluggable backends chosen by ``settings.SMS_BACKEND``.

Modelled on Django's email backends: code calls :func:`send_sms`; which provider delivers the
message is configuration. ``ConsoleSMSBackend`` (the default) prints messages for a developer to
read, ``InMemorySMSBackend`` keeps them in :data:`outbox` for tests, and a real provider is a
subclass of :class:`BaseSMSBackend`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from core import metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SMSMessage:
    """One text message: the recipient in E.164 (``+821012345678``) and the text."""

    to: str
    body: str


class SMSError(Exception):
    """Delivery failed. Backends raise it (or a subclass) unless ``fail_silently`` is set."""


class BaseSMSBackend:
    """Base class for SMS backends.

    A provider's backend subclasses this and implements :meth:`send_messages`:

    * it receives a sequence of :class:`SMSMessage` and returns how many were accepted by the
      provider;
    * on failure it raises :class:`SMSError` (wrapping the provider's exception, so callers need
      to catch one type only), unless ``self.fail_silently`` is true: then it logs the failure
      (without the phone number or the text, which are personal data) and counts the message
      as not sent;
    * credentials and endpoints come from settings or from keyword arguments of ``__init__``,
      which :func:`get_backend` passes through.

    Override :meth:`open` / :meth:`close` if the provider keeps a connection; the backend is
    also a context manager that opens and closes it.
    """

    def __init__(self, fail_silently: bool = False, **kwargs: object) -> None:
        self.fail_silently = fail_silently

    def open(self) -> None:
        """Open a connection to the provider, if it has one."""

    def close(self) -> None:
        """Close the connection opened by :meth:`open`."""

    def __enter__(self) -> BaseSMSBackend:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send_messages(self, messages: Sequence[SMSMessage]) -> int:
        """Send ``messages``; return the number sent."""
        raise NotImplementedError("SMS backends must implement send_messages()")


class ConsoleSMSBackend(BaseSMSBackend):
    """Development backend: each message is one line on the logger ``accounts.sms.console``.

    That logger prints the phone number and the text on purpose (see ``LOGGING`` in settings):
    it is how a developer reads the code. Never configure it in production.
    """

    log = logging.getLogger("accounts.sms.console")

    def send_messages(self, messages: Sequence[SMSMessage]) -> int:
        for message in messages:
            # One line per message keeps log collectors from splitting a text into records.
            body = message.body.replace("\r", "").replace("\n", "\\n")
            self.log.info("to=%s body=%s", message.to, body)
        return len(messages)


outbox: list[SMSMessage] = []
"""Messages "sent" by :class:`InMemorySMSBackend`, like ``django.core.mail.outbox``."""


class InMemorySMSBackend(BaseSMSBackend):
    """Test backend: appends messages to :data:`outbox`."""

    def send_messages(self, messages: Sequence[SMSMessage]) -> int:
        # Appends to the module-level list rather than rebinding it: tests hold a reference
        # to it and clear it between tests.
        outbox.extend(messages)
        return len(messages)


def get_backend(
    backend: str | None = None, *, fail_silently: bool = False, **kwargs: object
) -> BaseSMSBackend:
    """An instance of ``backend`` (a dotted path), by default ``settings.SMS_BACKEND``."""
    # Read at call time, not import time, so tests (and override_settings) can switch it.
    klass = import_string(backend or settings.SMS_BACKEND)
    return klass(fail_silently=fail_silently, **kwargs)


def send_sms(to: str, body: str, *, fail_silently: bool = False) -> int:
    """Send one text message through the configured backend; return the number sent (0 or 1)."""
    with get_backend(fail_silently=fail_silently) as backend:
        sent = backend.send_messages([SMSMessage(to=to, body=body)])
    metrics.SMS_SENT.inc(sent)
    return sent
