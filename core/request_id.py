"""The request id: one per request, taken from the proxy when it is sane, in every log line.

nginx sends ``$request_id`` (32 hex digits) as ``X-Request-ID``; an id from anywhere else is
accepted only if it is short and made of safe characters, so a client cannot inject line breaks,
JSON or a phone number into the logs through it. Otherwise a fresh one is made. The id lives in a
context variable: asgiref copies the context into ``sync_to_async`` threads, so a view offloaded
to a worker thread logs the same id.
"""

import contextvars
import logging
import os
import re

HEADER = "HTTP_X_REQUEST_ID"
RESPONSE_HEADER = "X-Request-ID"
MAX_LENGTH = 64
# Letters, digits and the separators common id formats use (UUIDs, ULIDs, nginx's hex, W3C ids).
_SANE = re.compile(rf"[A-Za-z0-9._-]{{8,{MAX_LENGTH}}}")
# Digits alone could be a phone number: a real id has letters (the JSON formatter scrubs the id
# like any message too).
_DIGITS_ONLY = re.compile(r"[0-9._-]+")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def accept_or_make(value: str | None) -> str:
    """``value`` if it is a sane id, else a new random one."""
    if value and _SANE.fullmatch(value) and not _DIGITS_ONLY.fullmatch(value):
        return value
    return os.urandom(16).hex()  # nginx's $request_id has the same shape: 32 hex digits


def set_current(request_id: str | None) -> contextvars.Token[str | None]:
    return _current.set(request_id)


def reset(token: contextvars.Token[str | None]) -> None:
    _current.reset(token)


def current() -> str | None:
    return _current.get()


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (None outside a request: tasks, the counter).

    Django logs a 4xx or 5xx answer after the middleware has returned, the context reset; its
    record carries the request, and the request its id (core/observability.py sets it).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request = getattr(record, "request", None)
            record.request_id = _current.get() or getattr(request, "request_id", None)
        return True
