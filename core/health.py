"""``/livez`` and ``/readyz``: is the process up, and can it serve right now?

``/livez`` checks nothing but the process: an orchestrator restarts a container whose liveness
fails, and restarting every replica because the database is away would only add to the outage.
``/readyz`` checks what a request needs — the database, Redis (the cache: rate limits, the SMS
budget, sessions' auth cache), the Celery broker and the media storage — each cheaply, in
parallel, with a timeout, and answers 503 naming the part that failed: a load balancer takes the
replica out of rotation until it passes again.

Both are answered by ``core.observability.ObservabilityMiddleware`` before any other middleware,
so they never reach ``ALLOWED_HOSTS`` validation (``request.get_host()``): a container healthcheck
can call ``http://127.0.0.1:8000/readyz`` without knowing the public domain. That is safe because
neither answer uses the Host header (no redirect, no absolute URL, nothing cached by host) and
neither says more than up/down per part. They are also in the URL conf, for a chain without the
middleware.
"""

import asyncio
import logging
import os
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
OK, DOWN, SKIPPED = "ok", "down", "skipped"


class _Skipped(Exception):
    """The part is not configured (the embedded default): nothing to check."""


def check_database() -> None:
    was_open = connection.connection is not None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # Opened for the check alone (under ASGI, on a thread of its own): given back now, to
        # the pool or closed, not left to a thread that is about to end.
        if not was_open and not connection.in_atomic_block:
            connection.close()


def _redis_url() -> str:
    cache = settings.CACHES.get("default", {})
    if "redis" not in cache.get("BACKEND", "").lower():
        raise _Skipped
    location = cache["LOCATION"]
    return location[0] if isinstance(location, list | tuple) else str(location).split(",")[0]


def check_redis() -> None:
    import redis

    # A client of its own with short timeouts: the cache's shared pool has none this short, and
    # a check must not wait behind, or disturb, the requests using it.
    client = redis.Redis.from_url(
        _redis_url(), socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def check_broker() -> None:
    url = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not url or url.startswith("memory://") or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", 0):
        raise _Skipped
    from kombu import Connection

    options = {"socket_timeout": CHECK_TIMEOUT, "socket_connect_timeout": CHECK_TIMEOUT}
    connection = Connection(  # type: ignore[no-untyped-call]
        url, connect_timeout=CHECK_TIMEOUT, transport_options=options
    )
    with connection as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)


def check_storage() -> None:
    if isinstance(default_storage, FileSystemStorage):
        # Local files: the directory (or, before the first upload, its nearest parent) must be
        # writable by this process — the unprivileged user of the image.
        path = os.path.abspath(default_storage.location)
        while not os.path.exists(path) and os.path.dirname(path) != path:
            path = os.path.dirname(path)
        if not os.path.isdir(path) or not os.access(path, os.W_OK):
            raise PermissionError("media directory not writable")
        return
    # A remote storage (S3-compatible): one metadata request proves address, credentials, bucket.
    default_storage.exists("readyz-probe")


CHECKS: dict[str, tuple[Callable[[], None], bool]] = {
    # name: (check, uses Django's database connection — run it on the request's thread)
    "database": (check_database, True),
    "redis": (check_redis, False),
    "broker": (check_broker, False),
    "storage": (check_storage, False),
}


async def _status(name: str, check: Callable[[], None], thread_sensitive: bool) -> str:
    try:
        await asyncio.wait_for(
            sync_to_async(check, thread_sensitive=thread_sensitive)(), timeout=CHECK_TIMEOUT
        )
    except _Skipped:
        return SKIPPED
    except Exception as exc:
        # The type only: a driver's message can carry a URL with its password.
        logger.warning("readyz: %s is down (%s)", name, type(exc).__name__)
        return DOWN
    return OK


async def readiness() -> dict[str, str]:
    results = await asyncio.gather(
        *(_status(name, check, sensitive) for name, (check, sensitive) in CHECKS.items())
    )
    return dict(zip(CHECKS, results, strict=True))


def _answer(body: dict[str, str]) -> JsonResponse:
    ready = all(value != DOWN for value in body.values())
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


async def readyz(request: HttpRequest) -> JsonResponse:
    return _answer(await readiness())


def livez(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"status": OK})
    response["Cache-Control"] = "no-store"
    return response
