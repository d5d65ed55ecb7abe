"""Ballot rate limits: per citizen and per IP, both counted in one round trip to the cache.

DRF's throttles keep a log of timestamps per key (a read and a write each: four Redis round trips
for two limits, on every ballot). These are fixed-window counters: one pipelined INCR + EXPIRE per
limit, both limits in one round trip. If the cache is down, ballots are still accepted: PostgreSQL
decides "once" whatever the limits say.

Keys name no one: each is an HMAC (server secret) of who and which window, so someone watching
Redis cannot see which citizen or IP is voting now, nor follow one from window to window
(docs/secret-ballot.md, "Side channels").
"""

import hashlib
import hmac
import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from core.client_ip import client_ip

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


def window_key(prefix: str, ident: object, seconds: int, now: float) -> str:
    """The cache key of one counter window: opaque, different for each window."""
    window = int(now // seconds)
    message = f"{prefix}:{ident}:{seconds}:{window}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]
    return f"{prefix}:{digest}"


class BallotThrottle(BaseThrottle):
    def get_ident(self, request) -> str:
        # The project's one rule for client addresses (trusted proxies only): DRF's own, with
        # NUM_PROXIES unset, believed any X-Forwarded-For a client sent.
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        now = time.time()
        rules = [
            ("user", request.user.pk, *_parse(settings.BALLOT_THROTTLE_USER)),
            ("ip", self.get_ident(request), *_parse(settings.BALLOT_THROTTLE_IP)),
        ]
        windows = [
            (window_key(f"ballot-throttle:{kind}", ident, seconds, now), seconds)
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


def _rates(setting: str, default: str) -> list[tuple[int, int]]:
    value = getattr(settings, setting, default)
    rates = value.split(",") if isinstance(value, str) else list(value)
    return [_parse(rate.strip()) for rate in rates if rate.strip()]


class WriteThrottle(BaseThrottle):
    """Per-citizen limits on a view's unsafe methods (reading is never throttled here), every
    window counted in one round trip. Subclasses name a setting such as "5/min,50/day". If the
    cache is down, requests go through: a flood is a nuisance, refusing everyone an outage."""

    setting = ""
    default = ""
    prefix = ""

    def allow_request(self, request, view) -> bool:
        self._wait = 0.0
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return True
        now = time.time()
        rules = _rates(self.setting, self.default)
        windows = [
            (window_key(self.prefix, request.user.pk, seconds, now), seconds)
            for _limit, seconds in rules
        ]
        try:
            counts = hit(windows)
        except Exception as exc:
            logger.warning("%s skipped, cache unavailable: %s", self.prefix, type(exc).__name__)
            return True
        for (limit, seconds), count in zip(rules, counts, strict=True):
            if count > limit:
                self._wait = max(self._wait, seconds - now % seconds)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait else None
