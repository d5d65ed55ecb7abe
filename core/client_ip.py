"""The client's address: one rule for every place the product reads it.

Behind ``TRUSTED_PROXY_COUNT`` reverse proxies of our own, each appends the address it received
the request from to ``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``), so the client
is the entry that many places from the right. Everything left of it was written by the client and
is ignored: a spoofed prefix cannot move anyone to another rate-limit bucket. With 0 (the
default, no proxy in front) the header is ignored altogether and ``REMOTE_ADDR`` is the client.

allauth's rate limits (``AccountAdapter.get_client_ip``), the SMS budget and the API throttles
all call :func:`client_ip`; ``ALLAUTH_TRUSTED_PROXY_COUNT`` and DRF's ``NUM_PROXIES`` are set to
the same number for any code of theirs that reads the header itself.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address of the client, as the configured trusted proxies saw it."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part]
        if forwarded:
            # Fewer entries than proxies: the request skipped an outer proxy; the leftmost is
            # the best there is (DRF's NUM_PROXIES reads it the same way). Never a 500.
            address = _valid(forwarded[-min(count, len(forwarded))])
            if address:
                return address
    return _valid(remote) or remote or "unknown"


def rate_limit_bucket(address: str) -> str:
    """The bucket an address is counted in: IPv6 by /64 (one subscriber's whole prefix, which
    rotating addresses inside it cannot escape), IPv4 by address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)
