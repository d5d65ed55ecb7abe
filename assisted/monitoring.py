"""Alerts on operators: one casting far more assisted ballots than the rest of the centre.

After each assisted ballot, the operator's last hour is compared with the median of the other
operators who cast in that hour: above ``ASSISTED_ANOMALY_FACTOR`` × that median and above
``ASSISTED_ANOMALY_MIN`` it is an anomaly. The others' median, not everyone's: in a small
centre the operator's own count would pull the median towards itself (of two operators, neither
could ever be three times everyone's median). An anomaly is recorded once an hour per operator: an
``OperatorAlert`` (officials list them in the admin), an audit entry and a log warning, none of
which names a citizen, a number or a choice.
"""

import logging
import statistics
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from assisted import conf, limits
from assisted.models import OperatorAlert
from audit.services import record

logger = logging.getLogger(__name__)

AUDIT_ACTION = "assisted_alert"
AUDIT_SUBJECT = "operator"


def check_operator(*, operator: User) -> OperatorAlert | None:
    """Record an alert if ``operator``'s last hour is an anomaly (and none was this hour)."""
    counts = limits.ballots_last_hour()
    mine = counts.pop(operator.pk, 0)
    if not counts:
        return None  # nobody to compare with
    median = float(statistics.median(counts.values()))
    if mine <= conf.get("ASSISTED_ANOMALY_FACTOR") * median or mine <= conf.get(
        "ASSISTED_ANOMALY_MIN"
    ):
        return None
    now = timezone.now()
    with transaction.atomic():
        if OperatorAlert.objects.filter(
            operator=operator, at__gt=now - timedelta(hours=1)
        ).exists():
            return None
        alert = OperatorAlert.objects.create(
            operator=operator, at=now, ballots_last_hour=mine, centre_median=median
        )
        record(
            actor=None,
            subject_type=AUDIT_SUBJECT,
            subject_id=operator.pk,
            title=f"operator {operator.get_username()}",
            action=AUDIT_ACTION,
            changes={"ballots_last_hour": mine, "centre_median": median},
        )
    logger.warning(
        "assisted_anomaly: operator #%d cast %d assisted ballots in the last hour "
        "(centre median %.1f)",
        operator.pk,
        mine,
        median,
    )
    return alert
