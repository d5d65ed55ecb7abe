"""Ballot rate limits: per citizen and per IP, both counted in one round trip to the cache.

DRF's throttles keep a log of timestamps per key (a read and a write each: four Redis round trips
for two limits, on every ballot). These are fixed-window counters: one pipelined INCR + EXPIRE per
limit, both limits in one round trip. If the cache is down, ballots are still accepted: PostgreSQL
decides "once" whatever the limits say.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)


def _parse(rate: str) -> tuple[int, int]:
    count, seconds = SimpleRateThrottle.parse_rate(None, rate)
    return count, seconds


def hit(windows: list[tuple[str, int]]) -> list[int]:
    """Add one to each (key, window seconds) counter; return the counts, in one round trip."""
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


class BallotThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        now = time.time()
        rules = [
            ("user", request.user.pk, *_parse(settings.BALLOT_THROTTLE_USER)),
            ("ip", self.get_ident(request), *_parse(settings.BALLOT_THROTTLE_IP)),
        ]
        windows = [
            (f"ballot-throttle:{kind}:{ident}:{int(now // seconds)}", seconds)
            for kind, ident, _limit, seconds in rules
        ]
        try:
            counts = hit(windows)
        except Exception as exc:
            logger.warning("ballot throttle skipped, cache unavailable: %s", type(exc).__name__)
            return True
        self._wait = 0.0
        for (_kind, _ident, limit, seconds), count in zip(rules, counts, strict=True):
            if count > limit:
                self._wait = max(self._wait, seconds - now % seconds)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait else None
