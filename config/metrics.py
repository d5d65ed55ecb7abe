"""``GET /metrics``: Prometheus's scrape, for operators only, and what is read at scrape time.

Access: 404 unless ``METRICS_TOKEN`` or ``METRICS_ALLOWED_IPS`` is set; then every one that is set
must hold (``Authorization: Bearer <token>``; the client address, as core/client_ip.py reads it
behind the trusted proxies, inside one of the networks), else 403. The answer is served by
``core.observability.ObservabilityMiddleware`` before the Host is validated, so Prometheus can
scrape each container by its internal name (``web:8000``), which is not in ``ALLOWED_HOSTS``.

In-process metrics are core/metrics.py's. Under gunicorn (several worker processes) each worker
writes them to memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and the scrape, answered by any
one worker, sums them (config/gunicorn.py clears the directory at start and marks dead workers).

The ballot box and the outbox are read here, at scrape time only, one cheap query each:
pending envelopes, counted ballots, the counting lag and the outbox lag.
"""

import hmac
import ipaddress
import logging
import os
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, OuterRef, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from core.client_ip import client_ip
from core.errors import json_error
from notifications.models import OutboxEvent
from voting.models import BoardEntry, CountState, Envelope

logger = logging.getLogger(__name__)


def pending_ballots() -> int:
    """Sealed envelopes not yet counted. Those of a final poll are left out: a poll that closed
    with fewer than k ballots keeps them sealed for ever, by design (voting/counting.py)."""
    return Envelope.objects.exclude(poll__count_state__final=True).count()


def counted_ballots() -> int:
    return CountState.objects.aggregate(total=Sum("counted"))["total"] or 0


def counting_lag_seconds(*, now: datetime) -> float:
    """How long the oldest work the counter should already have done has been waiting; 0 if none.

    Envelopes carry no time on purpose (a database reader must not learn when a voter voted;
    docs/secret-ballot.md), so the lag is taken from when the work became due:
    a closed poll's envelopes at its close plus the grace; an open poll's backlog of 2k or more
    (the counter's trigger) since its last counted batch, or its opening. The second is an upper
    bound: a quiet poll that just reached 2k shows the time since its last batch until the counter
    takes it, normally within ``COUNT_INTERVAL``. Alert on it lasting, not on one scrape.
    """
    grace = timedelta(seconds=settings.BALLOT_CLOSE_GRACE_SECONDS)
    last_batch = (
        BoardEntry.objects.filter(poll=OuterRef("poll_id"))
        .order_by("-seq")
        .values("counted_at")[:1]
    )
    rows = (
        Envelope.objects.exclude(poll__count_state__final=True)
        .values("poll_id")
        .annotate(
            n=Count("id"),
            opens_at=Max("poll__opens_at"),
            closes_at=Max("poll__closes_at"),
            last=Subquery(last_batch),
        )
        .order_by()
    )
    busy = 2 * settings.BALLOT_BATCH_MIN
    due: list[datetime] = []
    for row in rows:
        if row["closes_at"] + grace <= now:
            due.append(row["closes_at"] + grace)
        elif row["n"] >= busy:
            due.append(max(row["last"] or row["opens_at"], row["opens_at"]))
    return max(0.0, (now - min(due)).total_seconds()) if due else 0.0


def outbox_lag_seconds(*, now: datetime) -> float:
    """Age of the oldest event whose fan-out is unfinished (the partial index's rows); 0 if none."""
    oldest = (
        OutboxEvent.objects.filter(fanned_out_at__isnull=True)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


class DatabaseCollector(Collector):
    """The ballot box and the outbox, read when scraped; ``mvoting_metrics_database_up`` 0 if the
    database could not be read (the other families are then left out, not reported as 0)."""

    def collect(self) -> list[Metric]:
        now = timezone.now()
        try:
            families: list[Metric] = [
                GaugeMetricFamily(
                    "mvoting_ballots_pending",
                    "Sealed envelopes not yet counted.",
                    value=pending_ballots(),
                ),
                CounterMetricFamily(
                    "mvoting_ballots_counted",
                    "Ballots counted, all polls.",
                    value=counted_ballots(),
                ),
                GaugeMetricFamily(
                    "mvoting_counting_lag_seconds",
                    "How long the oldest due counting work has waited.",
                    value=counting_lag_seconds(now=now),
                ),
                GaugeMetricFamily(
                    "mvoting_outbox_lag_seconds",
                    "Age of the oldest notification event not fanned out yet.",
                    value=outbox_lag_seconds(now=now),
                ),
            ]
            up = 1
        except Exception as exc:
            logger.warning("metrics: database not readable (%s)", type(exc).__name__)
            families, up = [], 0
        families.append(
            GaugeMetricFamily(
                "mvoting_metrics_database_up",
                "1 if the scrape could read the database.",
                value=up,
            )
        )
        return families


_database_registry = CollectorRegistry(auto_describe=False)
_database_registry.register(DatabaseCollector())


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker's files, summed: whichever worker answers, the numbers are the process
        # group's.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    return own + generate_latest(_database_registry)


def _allowed(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _sep, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return False
    networks = settings.METRICS_ALLOWED_IPS
    if networks:
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        if not any(address in ipaddress.ip_network(net, strict=False) for net in networks):
            return False
    return True


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOWED_IPS):
        return json_error("not_found", "Not found.", 404)
    if not _allowed(request):
        return json_error("forbidden", "Metrics need the operators' token or address.", 403)
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
