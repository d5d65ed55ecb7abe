"""The operators' limits: identifications, code tries and texts per hour, ballots per hour.

Identifications and tries are fixed-window counters in the cache (core/ratelimit.py; keys are
HMACs, so Redis never holds a phone number). Ballots are counted in the database, from the
identifications they were cast through: the limit holds across processes and restarts, and the
alerts (assisted/monitoring.py) read the same numbers.
"""

import logging
import time
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts import sms_budget
from accounts.models import User
from assisted import conf
from assisted.models import Identification
from core.errors import ApiError
from core.ratelimit import hit, parse_rate, window_key

logger = logging.getLogger(__name__)


class SlowDown(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"
    default_detail = _("Too many identifications for now. Wait a while and try again.")


class BallotRateExceeded(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "assisted_rate"
    default_detail = _(
        "You have cast as many assisted ballots as allowed in an hour. A supervisor has to "
        "look at this first."
    )


class LimitsUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = _("The limits cannot be checked right now. Please try again later.")


def _rates(setting: str) -> list[tuple[int, int]]:
    value = conf.get(setting)
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [parse_rate(part.strip()) for part in parts if part.strip()]


def _charge(rules: list[tuple[str, object, str]]) -> None:
    """Add one to each (prefix, who, setting) limit; SlowDown if any is over. Fails closed."""
    now = time.time()
    windows: list[tuple[str, int]] = []
    allowed: list[int] = []
    for prefix, ident, setting in rules:
        for limit, seconds in _rates(setting):
            windows.append((window_key(prefix, ident, seconds, now), seconds))
            allowed.append(limit)
    try:
        counts = hit(windows)
    except Exception as exc:
        logger.warning("assisted limits unavailable: %s", type(exc).__name__)
        raise LimitsUnavailable() from exc
    if any(count > limit for count, limit in zip(counts, allowed, strict=True)):
        raise SlowDown()


def charge_identification(*, operator: User, phone: str) -> None:
    """One identification started by ``operator`` for ``phone`` (per operator, per number)."""
    _charge(
        [
            ("assisted-identify", operator.pk, "ASSISTED_IDENTIFY_RATE"),
            ("assisted-phone", phone, "ASSISTED_PHONE_RATE"),
        ]
    )


def charge_attempt(*, operator: User) -> None:
    """One code or PIN typed by ``operator``: the per-identification limit stops guessing one
    code, this one guessing across many."""
    _charge([("assisted-attempt", operator.pk, "ASSISTED_ATTEMPT_RATE")])


def charge_sms(*, phone: str) -> None:
    """The product's SMS budget (accounts/sms_budget.py) pays for the code too."""
    try:
        sms_budget.charge(phone=phone, ip=None)
    except sms_budget.SMSBudgetRefused as refusal:
        if refusal.status == status.HTTP_429_TOO_MANY_REQUESTS:
            raise SlowDown() from refusal
        raise LimitsUnavailable() from refusal


def ballots_last_hour(*, operator_id: int | None = None) -> dict[int, int]:
    """Assisted ballots per operator in the last hour (only ``operator_id``'s when given)."""
    rows = Identification.objects.filter(cast_at__gt=timezone.now() - timedelta(hours=1))
    if operator_id is not None:
        rows = rows.filter(operator_id=operator_id)
    counts: dict[int, int] = {}
    for operator in rows.values_list("operator_id", flat=True):
        counts[operator] = counts.get(operator, 0) + 1
    return counts


def check_ballot_rate(*, operator: User) -> None:
    """BallotRateExceeded when ``operator`` has cast ASSISTED_RATE ballots in its window."""
    for limit, seconds in _rates("ASSISTED_RATE"):
        since = timezone.now() - timedelta(seconds=seconds)
        cast = Identification.objects.filter(operator=operator, cast_at__gt=since).count()
        if cast >= limit:
            raise BallotRateExceeded()
