"""The process's Prometheus metrics: in-memory counters the hot paths bump, nothing else.

Every update here is a lock and an add in memory (or, in gunicorn's multiprocess mode, in a
memory-mapped file under ``PROMETHEUS_MULTIPROC_DIR``): no database, no Redis, no I/O. What is
read from the database (ballots pending and counted, the counting and outbox lags) is read only
when Prometheus scrapes, by the collector in ``config/metrics.py``.

Labels are bounded on purpose: a route is the URL pattern (``api/v1/polls/<id:poll_id>/``), never
the path with its ids, and a status is its class (``2xx``), so the number of series stays fixed.
"""

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No ``*_created`` series: a second series per counter that no alert or graph here reads.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client

REQUEST_DURATION = Histogram(
    "mvoting_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

BALLOTS_ACCEPTED = Counter(
    "mvoting_ballots_accepted",
    "Ballots accepted (a 201 that was not an idempotent replay).",
)

WEBSOCKET_CONNECTIONS = Gauge(
    "mvoting_websocket_connections",
    "Open dashboard and live-tally WebSockets.",
    # Summed over the live processes only: a dead worker's sockets are gone with it.
    multiprocess_mode="livesum",
)

SMS_SENT = Counter(
    "mvoting_sms_sent",
    "Text messages the SMS backend accepted.",
)

SMS_REFUSED = Counter(
    "mvoting_sms_refused",
    "Text messages refused by the SMS budget before sending, by the limit that refused.",
    ["scope"],
)

# Methods outside this set are one label value: a client cannot add series by inventing verbs.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def status_class(status: int) -> str:
    return f"{status // 100}xx"
