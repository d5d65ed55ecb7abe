"""One error rule for apps, under /_allauth/ as under /api/: ``code`` and ``detail`` on every error.

allauth's headless answers keep their own keys (``status``, ``errors``, ``data``, ``meta``: its
client libraries read them) and gain the API's: ``code`` (stable snake_case), ``detail`` (text in
the request's language) and, for input errors, ``fields`` ({param: [message, ...]}). The
project's own refusals under /_allauth/ (core/errors.py shape: SMS budget, CSRF, Redis down,
refused endpoints) gain allauth's ``status`` and ``errors`` in return, so either kind of client
reads either kind of answer. Every 429 carries ``Retry-After``: the real time left in allauth's
window that refused the request when allauth's limits decided (recorded as they decide, see
:func:`install_wait_recorder`), else a fixed fallback.

allauth offers no adapter hook for the shape of its answers, so :class:`HeadlessErrorMiddleware`
rewrites them: only under /_allauth/, only for status >= 400 and a JSON body; 2xx answers are
never opened.
"""

import json
import math
from collections.abc import Callable
from typing import Any

from allauth.core import context as allauth_context
from allauth.core import ratelimit
from allauth.core.internal import ratelimit as allauth_ratelimit
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotAuthenticated, Throttled

from core.errors import Forbidden

PREFIX = "/_allauth/"

# When no window's end is known (two sign-ups racing for one number, allauth's lock on a counter
# not acquired): the per-number code limit's window ("1/30s/key", verify_phone), the limit whose
# answer the race imitates (accounts/adapter.py save_user).
FALLBACK_RETRY_AFTER_SECONDS = 30

# Django's and allauth's codes for "this field's value is wrong": the API calls them all
# invalid_input (core/errors.py). Any other code is specific and passes through as it is.
_GENERIC_CODES = frozenset(
    {
        "invalid",
        "required",
        "blank",
        "null",
        "max_length",
        "min_length",
        "max_value",
        "min_value",
        "invalid_choice",
    }
)

# Pending flows (data.flows[].is_pending) that wait for a code sent by text message.
_CODE_FLOWS = frozenset({"verify_phone", "login_by_code"})

_WAIT_ATTRIBUTE = "_allauth_retry_after"


# --- Retry-After for allauth's limits --------------------------------------------------------


def install_wait_recorder() -> None:
    """Wrap allauth's rate arithmetic (``apply_rate``, pure: a counter's timestamps, now and the
    rate) so a refusal records, on the request, when that window frees a slot.

    Every allauth limit (``consume``, ``consume_or_429``, the decorators, dry runs) goes through
    it, and allauth computes nothing else there: the wrapper returns what allauth returns.
    Idempotent. If a later allauth renames the function, 429s fall back to
    :data:`FALLBACK_RETRY_AFTER_SECONDS` (tests/accounts/test_error_shape.py notices).
    """
    original = getattr(allauth_ratelimit, "apply_rate", None)
    if original is None or getattr(original, "records_wait", False):
        return

    def apply_rate(
        history: list[float], now: float, rate: Any, *, dry_run: bool = False
    ) -> tuple[bool, list[float]]:
        allowed, history = original(history, now, rate, dry_run=dry_run)
        request = allauth_context.request
        if not allowed and request is not None and len(history) >= rate.amount:
            # history is newest first: the amount-th newest hit is the next to leave the window.
            wait = history[rate.amount - 1] + rate.duration - now
            setattr(request, _WAIT_ATTRIBUTE, max(wait, getattr(request, _WAIT_ATTRIBUTE, 0.0)))
        return allowed, history

    apply_rate.records_wait = True  # type: ignore[attr-defined]
    allauth_ratelimit.apply_rate = apply_rate


# On import: whoever reads the wait (this middleware, the adapter, the officials' login) imports
# this module, so allauth's limits record it before any of them needs it.
install_wait_recorder()


def retry_after_seconds(request: HttpRequest) -> int:
    """Whole seconds until the limit that refused ``request`` lets it through; at least 1."""
    wait = getattr(request, _WAIT_ATTRIBUTE, None)
    if wait is None:
        return FALLBACK_RETRY_AFTER_SECONDS
    return max(1, math.ceil(wait))


def rate_limited_response(request: HttpRequest) -> HttpResponse:
    """allauth's 429 (its shape for its clients), with ``Retry-After``."""
    response: HttpResponse = ratelimit.respond_429(request)
    response["Retry-After"] = str(retry_after_seconds(request))
    return response


# --- The error body --------------------------------------------------------------------------


def _throttled_detail(seconds: int) -> str:
    # The API's text for its throttles (DRF's, translated by DRF): one code, one message.
    return str(Throttled(wait=seconds).detail)


def _from_errors(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """code/detail/fields from allauth's ``errors`` list (input errors)."""
    fields: dict[str, list[str]] = {}
    if any(error.get("param") for error in errors):
        for error in errors:
            param = error.get("param") or "non_field_errors"
            fields.setdefault(str(param), []).append(str(error.get("message", "")))
    if len(errors) == 1:
        code = str(errors[0].get("code") or "invalid")
        body: dict[str, Any] = {
            "code": "invalid_input" if code in _GENERIC_CODES else code,
            "detail": str(errors[0].get("message") or _("Some fields are invalid.")),
        }
    else:
        body = {"code": "invalid_input", "detail": _("Some fields are invalid.")}
    if fields:
        body["fields"] = fields
    return body


def _pending_flow(body: dict[str, Any]) -> str | None:
    data = body.get("data")
    flows = data.get("flows") if isinstance(data, dict) else None
    if not isinstance(flows, list):
        return None
    return next(
        (str(f.get("id")) for f in flows if isinstance(f, dict) and f.get("is_pending")), None
    )


def _from_status(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """code/detail for allauth's answers that carry no ``errors``: flows and bare statuses."""
    if status == 401:
        meta = body.get("meta")
        if isinstance(meta, dict) and meta.get("is_authenticated"):
            return {
                "code": "reauthentication_required",
                "detail": _("Confirm it is you to continue."),
            }
        flow = _pending_flow(body)
        if flow in _CODE_FLOWS:
            return {
                "code": "verification_pending",
                "detail": _("Enter the code sent to your phone by text message."),
            }
        if flow is not None:
            return {"code": "verification_pending", "detail": _("Finish signing in to continue.")}
        return {"code": "authentication_required", "detail": str(NotAuthenticated.default_detail)}
    if status == 410:
        # A dead X-Session-Token: the code and text /api/v1/ gives the same token
        # (accounts/authentication.py), so the app handles it once: drop it, sign in again.
        return {
            "code": "invalid_session_token",
            "detail": _("The session token is invalid or expired."),
        }
    if status == 409:
        return {
            "code": "flow_not_pending",
            "detail": _("This step is no longer pending (it expired or was used up). Start again."),
        }
    if status == 403:
        return {"code": "permission_denied", "detail": str(Forbidden.default_detail)}
    if status == 404:
        return {"code": "not_found", "detail": _("Not found.")}
    if status == 405:
        return {"code": "method_not_allowed", "detail": _("Method not allowed.")}
    return {"code": "bad_request", "detail": _("The request could not be processed.")}


def completed_body(body: dict[str, Any], *, status: int, retry_after: int | None) -> dict[str, Any]:
    """``body`` with both shapes' keys: the API's ``code``/``detail`` (+ ``fields``) and
    allauth's ``status``/``errors``. Keys already there are kept as they are."""
    result = dict(body)
    if "code" not in result:
        errors = result.get("errors")
        if status == 429:
            added = {"code": "throttled", "detail": _throttled_detail(retry_after or 1)}
        elif isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
            added = _from_errors(errors)
        else:
            added = _from_status(status, result)
        result.update(added)
    else:
        # The project's own refusal: allauth's clients look at status and errors[].message.
        result.setdefault("status", status)
        if "errors" not in result:
            fields = result.get("fields")
            if isinstance(fields, dict) and fields:
                result["errors"] = [
                    {"code": "invalid", "message": str(message), "param": str(param)}
                    for param, messages in fields.items()
                    for message in (messages if isinstance(messages, list) else [messages])
                ]
            else:
                result["errors"] = [{"code": result["code"], "message": str(result["detail"])}]
    return result


def complete_error_response(request: HttpRequest, response: HttpResponseBase) -> None:
    """Give an error answer under /_allauth/ both shapes and, if a 429, ``Retry-After``.

    Only ``response``'s body and headers change, in place; anything not a JSON object is left.
    """
    status = response.status_code
    retry_after: int | None = None
    if status == 429:
        if "Retry-After" not in response:
            response["Retry-After"] = str(retry_after_seconds(request))
        try:
            retry_after = max(1, int(response["Retry-After"]))
        except ValueError:
            retry_after = None
    if (
        getattr(response, "streaming", False)
        or not response.get("Content-Type", "").startswith("application/json")
        or not isinstance(response, HttpResponse)
    ):
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(
        request
    )
    with translation.override(language):
        completed = completed_body(body, status=status, retry_after=retry_after)
    if completed == body:
        return
    response.content = json.dumps(completed, ensure_ascii=False).encode()
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))


class HeadlessErrorMiddleware:
    """Error answers under /_allauth/ follow the one rule (module docstring). Sits below
    LocaleMiddleware (the request's language) and above CsrfViewMiddleware (its refusals too)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        response = self.get_response(request)
        if response.status_code >= 400 and request.path.startswith(PREFIX):
            complete_error_response(request, response)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = await self.get_response(request)
        if response.status_code >= 400 and request.path.startswith(PREFIX):
            # JSON parsing of a small body: plain CPU work, no I/O, fine on the event loop.
            complete_error_response(request, response)
        return response
