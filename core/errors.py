"""One error format for the whole API: ``{"code": ..., "detail": ..., "fields": {...}}``.

``code`` is a stable snake_case string clients can switch on; ``detail`` is human text in the
request's language (ko/en); ``fields`` is present only for validation errors.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, InternalError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

# What a dropped or refused database connection raises (a pool timeout is an OperationalError).
DatabaseUnavailable = (OperationalError, InterfaceError)
# SQLSTATE 25006: a write reached a read-only server — a standby, or a primary demoted by a
# failover — that the pooled connection still points at. Nothing was written.
READ_ONLY_SQL_TRANSACTION = "25006"


def unavailable_part(exc: Exception) -> str | None:
    """Which part is briefly unavailable, when that is what ``exc`` says; None otherwise."""
    if isinstance(exc, DatabaseUnavailable):
        return "database"
    if isinstance(exc, InternalError) and (
        getattr(exc.__cause__, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION
    ):
        return "database (read-only)"
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return "redis"
    return None


def _drop_read_only_connection() -> None:
    # Closed before it goes back, the connection is discarded by the pool rather than handed to
    # the next request; new ones follow DATABASE_URL (target_session_attrs=read-write: the new
    # primary). Best effort: the answer is a 503 whatever happens here.
    try:
        raw = connection.connection
        if raw is not None:
            raw.close()
        connection.close()
    except Exception as error:
        logger.warning("could not drop a read-only connection: %s", type(error).__name__)


class ApiError(exceptions.APIException):
    """Base for the product's own errors: subclass with a status, a code and a default text."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = _("The request could not be processed.")

    def __init__(self, detail: Any = None, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code)
        # Extra keys travel in the body beside code/detail (e.g. "reason", "next_change_at").
        self.extra = extra


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = _("The request conflicts with the current state.")


class Forbidden(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"
    default_detail = _("You do not have permission to perform this action.")


# DRF's own codes renamed where the product's vocabulary differs.
_CODE_ALIASES = {
    "not_authenticated": "authentication_required",
    "invalid": "invalid_input",
}


def _first_code(codes: Any) -> str | None:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list) and len(codes) == 1 and isinstance(codes[0], str):
        return codes[0]
    return None


def _as_text(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _as_text(detail[0])
    if isinstance(detail, dict) and detail:
        return _as_text(next(iter(detail.values())))
    return str(detail)


def error_body(
    code: str, detail: Any, fields: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": str(detail)}
    if fields is not None:
        body["fields"] = fields
    body.update(extra)
    return body


class RequestTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = _("The request body is too large.")


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = _("The service is briefly unavailable. Please try again in a moment.")


# Seconds a client should wait before retrying after a 503 (the database came back or a pooled
# connection was replaced by then, usually).
RETRY_AFTER_SECONDS = 2


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    part = unavailable_part(exc)
    if part is not None:
        # A lost or refused database connection, a read-only database after a failover, Redis
        # down: nothing was written (the ballot is one transaction), so the client may simply
        # retry. A 503, never a 500 with a traceback (docs/operations/incidents.md).
        logger.warning("%s unavailable: %s", part, type(exc).__name__)
        if part == "database (read-only)":
            _drop_read_only_connection()
        response = exception_handler(ServiceUnavailable(), context)
        assert response is not None  # an APIException always gets a response
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, RequestDataTooBig):
        # The body is over DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads it through request.body):
        # Django would call it a generic 400; it is a 413 the client can act on.
        exc = RequestTooLarge()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # an unexpected error: Django's 500 handler (JSON under /api/) takes it

    codes = exc.get_codes()
    if isinstance(exc, exceptions.ValidationError):
        single = None
        if isinstance(codes, dict):
            # A non-field error with its own code, e.g. {"non_field_errors": ["residence_locked"]}
            non_field = codes.get("non_field_errors")
            if len(codes) == 1 and non_field is not None:
                single = _first_code(non_field)
        else:
            single = _first_code(codes)
        if single and single != "invalid":
            body = error_body(single, _as_text(exc.detail))
        else:
            fields = (
                exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            )
            body = error_body(
                "invalid_input", _("Some fields are invalid."), fields=_field_messages(fields)
            )
    else:
        code = _first_code(codes) or exc.default_code
        body = error_body(_CODE_ALIASES.get(code, code), _as_text(exc.detail))
    body.update(getattr(exc, "extra", {}))
    response.data = body
    return response


def _field_messages(detail: dict[Any, Any]) -> dict[str, list[str]]:
    """{field: [message, ...]}, as the schema documents it, also for errors inside lists and
    nested objects (DRF reports those as {index: [...]}): "2: message"."""
    return {str(key): _messages(value) for key, value in detail.items()}


def _messages(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _messages(value, f"{prefix}{key}: ")]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value, prefix)]
    return [f"{prefix}{detail}"]


# --- Django-level handlers: the API answers JSON even outside DRF views ---------------------------


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/healthz", "/_allauth/"))


def json_error(code: str, detail: Any, status_code: int) -> JsonResponse:
    return JsonResponse(
        error_body(code, detail), status=status_code, json_dumps_params={"ensure_ascii": False}
    )


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return json_error("bad_request", _("The request could not be processed."), 400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return json_error("permission_denied", _("You do not have permission."), 403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return json_error("not_found", _("Not found."), 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


@csrf_exempt  # it changes nothing: an unknown URL is a 404 whatever the method, never a 403
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return json_error("not_found", _("Not found."), 404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the API's JSON error format instead of Django's HTML page.

    DRF views check CSRF themselves (session-cookie requests) and answer in the error format
    already; this covers what Django's middleware refuses first (allauth's browser endpoints).
    """
    if _wants_json(request):
        return json_error("permission_denied", _("CSRF verification failed."), 403)
    from django.views.csrf import csrf_failure as default_csrf_failure

    return default_csrf_failure(request, reason)


def handler500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return json_error("server_error", _("Something went wrong on our side."), 500)
    from django.views.defaults import server_error

    return server_error(request)
