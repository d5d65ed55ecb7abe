"""The first middleware: request id, the request's metric, the access log line, health answers.

It sits above every other middleware, so it sees both lanes (the app-token lane and the full
chain, config/middleware.py) and every answer, the 404s and 500s included (Django turns a view's
exception into a response before it gets here). Per request it does only in-memory work: a
context variable, ``perf_counter`` twice, one histogram update, one header — and one log call
when ``ACCESS_LOG`` is on. No database, no Redis.

``/livez``, ``/readyz`` and ``/metrics`` (the view ``METRICS_VIEW`` names, config/metrics.py)
are answered here, before ``CommonMiddleware`` validates the Host: containers' healthchecks and
Prometheus reach a replica by its internal name (core/health.py says why that is safe).
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from core import health, metrics, request_id

access_logger = logging.getLogger("mvoting.access")

UNMATCHED = "<unmatched>"
METRICS_PATH = "/metrics"
_DIRECT = {"/livez": "livez", "/readyz": "readyz", METRICS_PATH: "metrics"}


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (``api/v1/polls/<id:poll_id>/``), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.route or match.view_name or UNMATCHED


class ObservabilityMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        self.access_log = bool(getattr(settings, "ACCESS_LOG", False))
        # A dotted path, not an import: core knows no app (the view reads the ballot box).
        metrics_view = getattr(settings, "METRICS_VIEW", "")
        self.metrics_view: Callable[[HttpRequest], HttpResponseBase] | None = (
            import_string(metrics_view) if metrics_view else None
        )
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        rid = request_id.accept_or_make(request.META.get(request_id.HEADER))
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id.set_current(rid)
        start = time.perf_counter()
        try:
            response = self._health_sync(request) or self.get_response(request)
            self._after(request, response, rid, start)
        finally:
            request_id.reset(token)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        rid = request_id.accept_or_make(request.META.get(request_id.HEADER))
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id.set_current(rid)
        start = time.perf_counter()
        try:
            response = await self._health_async(request)
            if response is None:
                response = await self.get_response(request)
            self._after(request, response, rid, start)
        finally:
            request_id.reset(token)
        return response

    def _health_sync(self, request: HttpRequest) -> HttpResponseBase | None:
        path = request.path_info
        if path == "/livez":
            return health.livez(request)
        if path == "/readyz":
            return async_to_sync(health.readyz)(request)
        if path == METRICS_PATH and self.metrics_view is not None:
            return self.metrics_view(request)
        return None

    async def _health_async(self, request: HttpRequest) -> HttpResponseBase | None:
        path = request.path_info
        if path == "/livez":
            return health.livez(request)
        if path == "/readyz":
            return await health.readyz(request)
        if path == METRICS_PATH and self.metrics_view is not None:
            return await sync_to_async(self.metrics_view)(request)
        return None

    def _after(
        self, request: HttpRequest, response: HttpResponseBase, rid: str, start: float
    ) -> None:
        elapsed = time.perf_counter() - start
        path = request.path_info
        route = _DIRECT.get(path) or route_of(request)
        method = request.method if request.method in metrics.KNOWN_METHODS else "OTHER"
        status = response.status_code
        metrics.REQUEST_DURATION.labels(route, method, metrics.status_class(status)).observe(
            elapsed
        )
        response[request_id.RESPONSE_HEADER] = rid
        if self.access_log:
            # No query string, no user, no address: the route names the endpoint, the id joins
            # this line to the request's other lines and to nginx's.
            access_logger.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "access": {
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )
