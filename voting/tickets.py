"""Short-lived, single-use tickets that let an app open a dashboard WebSocket.

Browsers authenticate the WebSocket with their session cookie. An app has a session token, which
must never travel in a URL (URLs end up in proxy logs), so it trades the token for a ticket valid
for one poll, for ``WS_TICKET_TTL`` seconds, once.

A native app's WebSocket carries no ``Origin`` header (only browsers send one), so the origin check
cannot vouch for it: such a socket is admitted only with a ticket marked ``native``, which is
issued only to a request authenticated by an app's session token (``X-Session-Token``), never by
a browser's cookie. A malicious page always sends its own Origin and is refused before any ticket
is looked at.
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
    native: bool = False  # issued to an app's session token: valid on a socket without Origin


def _key(ticket: str) -> str:
    return _PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def issue(*, user_id: int, poll_id: int, native: bool = False) -> str:
    ticket = secrets.token_urlsafe(32)
    cache.set(_key(ticket), (user_id, poll_id, native), timeout=settings.WS_TICKET_TTL)
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
    # (A ticket issued before ``native`` existed is a pair: a browser's, as all were then.)
    user_id, poll_id, *rest = value
    return Ticket(user_id=user_id, poll_id=poll_id, native=bool(rest and rest[0]))
