"""Ballot and write rate limits: DRF throttles over the fixed-window counters of core.ratelimit.

Both ballot limits (per citizen and per IP) are counted in one round trip to the cache. If the
cache is down, ballots are still accepted: PostgreSQL decides "once" whatever the limits say.
Keys name no one (core/ratelimit.py; docs/secret-ballot.md, "Side channels").
"""

import logging
import math
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core.client_ip import client_ip
from core.ratelimit import hit, parse_rate, rates, window_key

logger = logging.getLogger(__name__)


class BallotThrottle(BaseThrottle):
    def get_ident(self, request) -> str:
        # The project's one rule for client addresses (trusted proxies only): DRF's own, with
        # NUM_PROXIES unset, believed any X-Forwarded-For a client sent.
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        now = time.time()
        rules = [
            ("user", request.user.pk, *parse_rate(settings.BALLOT_THROTTLE_USER)),
            ("ip", self.get_ident(request), *parse_rate(settings.BALLOT_THROTTLE_IP)),
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


class WriteThrottle(BaseThrottle):
    """Per-citizen limits on a view's unsafe methods (reading is never throttled here), every
    window counted in one round trip. Subclasses name a setting such as "5/min,50/day". If the
    cache is down, requests go through: a flood is a nuisance, refusing everyone an outage."""

    setting = ""
    prefix = ""

    def allow_request(self, request, view) -> bool:
        self._wait = 0.0
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return True
        now = time.time()
        rules = rates(self.setting)
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
