"""The SMS budget: every text the product sends is paid for, so every text is counted first.

Three limits, each a set of fixed-window counters in the cache (Redis in production):

* per number (``SMS_BUDGET_PER_NUMBER``, default 5 an hour, 10 a day): nobody can flood a
  victim's phone, whichever endpoints and addresses they use;
* per client address (``SMS_BUDGET_PER_IP``, default 30 an hour, 100 a day): one machine cannot
  text its way down a list of numbers. Generous because Korean carriers put many phones behind
  one address (carrier-grade NAT); IPv6 is counted per /64, a subscriber's prefix;
* global (``SMS_BUDGET_GLOBAL_HOURLY``): when an hour's budget is spent, sending stops until the
  next hour and the operators are alerted (a CRITICAL log line ``sms_budget_exhausted`` once per
  hour, and the :data:`budget_exhausted` signal).

A refusal is :class:`SMSBudgetRefused`: 429 for a number or an address, 503 for the global
budget, each with the seconds until its window ends. If the cache cannot be reached the budget
cannot be checked, and nothing is sent (:class:`SMSBudgetUnavailable`, a 503): fail closed.

Keys name no one: each is an HMAC (server secret) of the number or address and the window
(``core.ratelimit.window_key``), so Redis never holds a phone number, and one number's
counters cannot be followed from window to window.

Refused attempts are taken back out of the counters: an attacker hammering one number must not
spend the city's global budget with texts that were never sent.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.dispatch import Signal

from core import metrics
from core.client_ip import rate_limit_bucket
from core.errors import RETRY_AFTER_SECONDS
from core.ratelimit import Rate, hit, rates, window_key

logger = logging.getLogger(__name__)

budget_exhausted = Signal()
"""Sent once per hour when the global budget is spent (``window_end``: a UNIX time). Connect a
pager to it; it carries no phone number."""

_PREFIX = "sms-budget"


class SMSBudgetRefused(Exception):
    """No text may be sent now. ``status`` is the HTTP answer, ``retry_after`` in seconds."""

    def __init__(self, *, scope: str, retry_after: int) -> None:
        super().__init__(scope)
        self.scope = scope
        self.retry_after = max(1, int(retry_after))
        metrics.SMS_REFUSED.labels(scope).inc()  # one refusal, one exception: counted here

    @property
    def status(self) -> int:
        return 429 if self.scope in ("number", "ip") else 503


class SMSBudgetUnavailable(SMSBudgetRefused):
    """The counters cannot be read: sending unmetered is not an option."""

    def __init__(self) -> None:
        # As long as any other 503 of the project asks a client to wait (core/errors.py).
        super().__init__(scope="unavailable", retry_after=RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class _Counter:
    scope: str
    key: str
    limit: int
    seconds: int

    def retry_after(self, now: float) -> int:
        return int(self.seconds - now % self.seconds) + 1


def _counters(*, phone: str, ip: str | None, now: float) -> list[_Counter]:
    rules: list[tuple[str, object, list[Rate]]] = [
        ("number", phone, rates("SMS_BUDGET_PER_NUMBER")),
    ]
    if ip:
        rules.append(("ip", rate_limit_bucket(ip), rates("SMS_BUDGET_PER_IP")))
    rules.append(("global", "all", [(settings.SMS_BUDGET_GLOBAL_HOURLY, 3600)]))
    return [
        _Counter(scope, window_key(f"{_PREFIX}:{scope}", ident, seconds, now), limit, seconds)
        for scope, ident, limits in rules
        for limit, seconds in limits
    ]


def _refusal(exceeded: list[_Counter], now: float) -> SMSBudgetRefused:
    # The global budget answers first: it is the one the client can do nothing about.
    scopes = {counter.scope for counter in exceeded}
    scope = "global" if "global" in scopes else ("number" if "number" in scopes else "ip")
    wait = max(counter.retry_after(now) for counter in exceeded if counter.scope == scope)
    if scope == "global":
        _alert(now)
    return SMSBudgetRefused(scope=scope, retry_after=wait)


def check(*, phone: str, ip: str | None, now: float | None = None) -> None:
    """Raise :class:`SMSBudgetRefused` if a text to ``phone`` would be refused now; count nothing.

    For the one path that must decide before it writes anything (sign-up creates the account
    before texting the code).
    """
    now = time.time() if now is None else now
    counters = _counters(phone=phone, ip=ip, now=now)
    try:
        values = caches["default"].get_many([counter.key for counter in counters])
    except Exception as exc:
        logger.warning("sms budget unavailable: %s", type(exc).__name__)
        raise SMSBudgetUnavailable from exc
    exceeded = [c for c in counters if int(values.get(c.key) or 0) >= c.limit]
    if exceeded:
        raise _refusal(exceeded, now)


def charge(*, phone: str, ip: str | None, now: float | None = None) -> None:
    """Count one text to ``phone`` asked for from ``ip``, or raise :class:`SMSBudgetRefused`.

    Every counter is incremented in one round trip; if any is then over its limit, all are
    taken back (a second round trip) and the text is refused. Two racing requests at the limit
    cannot both pass: the increments are atomic.
    """
    now = time.time() if now is None else now
    counters = _counters(phone=phone, ip=ip, now=now)
    windows = [(counter.key, counter.seconds) for counter in counters]
    try:
        counts = hit(windows)
    except Exception as exc:
        logger.warning("sms budget unavailable: %s", type(exc).__name__)
        raise SMSBudgetUnavailable from exc
    exceeded = [c for c, n in zip(counters, counts, strict=True) if n > c.limit]
    if not exceeded:
        return
    try:
        _take_back([counter.key for counter in counters])
    except Exception as exc:
        # Only makes the limits stricter until the windows end.
        logger.warning("sms budget not rolled back: %s", type(exc).__name__)
    raise _refusal(exceeded, now)


def _take_back(keys: list[str]) -> None:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full = [backend.make_and_validate_key(key) for key in keys]
        client = backend._cache.get_client(full[0], write=True)
        pipe = client.pipeline(transaction=False)
        for key in full:
            pipe.decr(key)
        pipe.execute()
        return
    for key in keys:
        with contextlib.suppress(ValueError):  # expired in between: nothing to take back
            backend.decr(key)


def _alert(now: float) -> None:
    window_end = (int(now // 3600) + 1) * 3600
    try:
        first = caches["default"].add(f"{_PREFIX}:alerted:{window_end}", 1, 3600)
    except Exception:
        first = True  # better twice than never
    if not first:
        return
    logger.critical(
        "sms_budget_exhausted: the global hourly SMS budget (%d) is spent; no text is sent "
        "until the hour ends",
        settings.SMS_BUDGET_GLOBAL_HOURLY,
    )
    budget_exhausted.send(sender=__name__, window_end=window_end)
