"""Short-lived, single-use tickets that let an app open a dashboard WebSocket.

Browsers authenticate the WebSocket with their session cookie. An app has a session token, which
must never travel in a URL (URLs end up in proxy logs), so it trades the token for a ticket valid
for one poll, for ``WS_TICKET_TTL`` seconds, once.
"""

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

_PREFIX = "ws-ticket:"


@dataclass(frozen=True)
class Ticket:
    user_id: int
    poll_id: int


def _key(ticket: str) -> str:
    return _PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def issue(*, user_id: int, poll_id: int) -> str:
    ticket = secrets.token_urlsafe(32)
    cache.set(_key(ticket), (user_id, poll_id), timeout=settings.WS_TICKET_TTL)
    return ticket


def redeem(ticket: str) -> Ticket | None:
    """The ticket's holder and poll, once: a second redemption finds nothing."""
    if not ticket or len(ticket) > 100:
        return None
    key = _key(ticket)
    value = cache.get(key)
    # delete() reports whether this call removed it: of two racing redemptions, one wins.
    if value is None or not cache.delete(key):
        return None
    user_id, poll_id = value
    return Ticket(user_id=user_id, poll_id=poll_id)
