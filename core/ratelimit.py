"""Fixed-window rate counters in the cache, under the API throttles and the SMS budget.

DRF's throttles keep a log of timestamps per key (a read and a write each: four Redis round trips
for two limits). These are fixed-window counters: one pipelined INCR + EXPIRE per limit, every
limit of a request in one round trip.

Keys name no one: each is an HMAC (server secret) of who and which window, so someone watching
Redis cannot see which citizen, number or address is active now, nor follow one from window to
window (docs/secret-ballot.md, "Side channels").
"""

import hashlib
import hmac

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

Rate = tuple[int, int]
"""(requests allowed, window in seconds)."""

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> Rate:
    """ "5/min" → (5, 60): DRF's notation (only the period's first letter counts), so settings
    read the same whichever throttle uses them."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def rates(setting: str) -> list[Rate]:
    """The limits a setting names, e.g. "5/min,50/day" (or a list of such strings). Every such
    setting has its default in config/settings.py, and only there."""
    value = getattr(settings, setting)
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [parse_rate(part.strip()) for part in parts if part.strip()]


def hit(windows: list[tuple[str, int]]) -> list[int]:
    """Add one to each (key, window seconds) counter; return the counts, in one round trip.

    Raises whatever the cache raises when it is down: callers choose to fail open (throttles)
    or closed (the SMS budget).
    """
    # `django.core.cache.cache` is a proxy: ask the handler for the backend itself.
    backend = caches["default"]
    keys = [backend.make_and_validate_key(key) for key, _window in windows]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(keys[0], write=True)
        pipe = client.pipeline(transaction=False)
        for key, (_name, window) in zip(keys, windows, strict=True):
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        results = pipe.execute()
        return [int(n) for n in results[::2]]
    counts = []
    for name, window in windows:
        backend.add(name, 0, window)
        counts.append(backend.incr(name))
    return counts


def window_key(prefix: str, ident: object, seconds: int, now: float) -> str:
    """The cache key of one counter window: opaque, different for each window."""
    window = int(now // seconds)
    message = f"{prefix}:{ident}:{seconds}:{window}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]
    return f"{prefix}:{digest}"
