"""Error tracking, opt-in: with ``SENTRY_DSN`` set, unhandled exceptions go to Sentry; unset,
sentry-sdk is not even imported.

What leaves the process is cut down to what finds a bug: the exception's type, frames and
(scrubbed) message, the route, the request id. Never a phone number, a session token, a cookie,
a request body, a query string or a frame's local variables — a ballot view's locals hold the
choice. Every string of the event passes the same scrubber as the logs (config/logging.py).
Backed by tests/core/test_sentry.py (a local fake Sentry ingest server receives the envelope).
"""

import logging
from typing import Any

from config.logging import redact
from core import request_id

logger = logging.getLogger(__name__)

# Headers that say nothing about a person: everything else (cookies, authorization, session
# tokens, forwarded addresses, user agents) is dropped before sending.
_KEPT_HEADERS = frozenset({"accept", "accept-language", "content-type", "content-length"})


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        request["headers"] = {
            name: value for name, value in headers.items() if name.lower() in _KEPT_HEADERS
        }
        for key in ("cookies", "data", "query_string", "env"):
            request.pop(key, None)
        # The path may hold a receipt code or a phone-like id: the route is enough.
        if "url" in request:
            request["url"] = redact(str(request["url"]))
    event.pop("user", None)
    rid = request_id.current()
    if rid:
        event.setdefault("tags", {})["request_id"] = rid
    return _scrub(event)


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    return _scrub(crumb)


def init(*, dsn: str, environment: str = "", release: str = "", traces_sample_rate: float = 0.0):
    """Start sentry-sdk with the Django integration and the scrubbing above. Returns the client."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=before_send,  # type: ignore[arg-type]
        before_breadcrumb=before_breadcrumb,
    )
    logger.info("error tracking on")
    return sentry_sdk.get_client()
