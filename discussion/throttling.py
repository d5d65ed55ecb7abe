"""Rate limits on writing: per citizen, fixed windows, all counted in one round trip to the cache.

The counters are ``voting.throttling.hit``'s (one pipelined INCR + EXPIRE per window). If the cache
is down, requests go through: a flood of comments is a nuisance, refusing everyone is an outage.
"""

import logging
import math
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from voting.throttling import _parse, hit

logger = logging.getLogger(__name__)


def _rates(setting: str, default: str) -> list[tuple[int, int]]:
    value = getattr(settings, setting, default)
    rates = value.split(",") if isinstance(value, str) else list(value)
    return [_parse(rate.strip()) for rate in rates if rate.strip()]


class _WriteThrottle(BaseThrottle):
    """Limits on the unsafe methods of a view; reading is never throttled here."""

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
            (f"{self.prefix}:{request.user.pk}:{seconds}:{int(now // seconds)}", seconds)
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


class CommentThrottle(_WriteThrottle):
    """``COMMENT_THROTTLE``: comments and replies a citizen may post, e.g. "5/min,50/day"."""

    setting = "COMMENT_THROTTLE"
    default = "5/min,50/day"
    prefix = "comment-throttle"


class ReactionThrottle(_WriteThrottle):
    """``COMMENT_REACTION_THROTTLE``: likes, unlikes, reports and deletions."""

    setting = "COMMENT_REACTION_THROTTLE"
    default = "60/min,1000/day"
    prefix = "comment-reaction-throttle"
