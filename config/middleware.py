"""Middleware adapted to ASGI, and the app-token fast lane through the API (LeanApiRouter)."""

import logging
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from allauth.core import context as allauth_context
from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponsePermanentRedirect
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, get_resolver
from redis.exceptions import RedisError
from whitenoise.middleware import WhiteNoiseMiddleware

logger = logging.getLogger(__name__)


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, usable in an async middleware chain.

    WhiteNoise's middleware is sync-only, and one sync-only middleware makes Django run the whole
    chain below it — every view — through the process's single sync thread. This variant looks the
    file up and serves it off the event loop, and otherwise hands the request on untouched.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, *args, **kwargs) -> None:
        super().__init__(get_response, *args, **kwargs)
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self._async:
            return self._acall(request)
        return super().__call__(request)

    def _find(self, request):
        if self.autorefresh:
            return self.find_file(request.path_info)
        return self.files.get(request.path_info)

    async def _acall(self, request):
        # Only URLs under the static prefix can be files: the API skips the lookup entirely.
        if request.path_info.startswith(self.static_prefix):
            static_file = await sync_to_async(self._find, thread_sensitive=False)(request)
            if static_file is not None:
                return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)


class AuthServiceUnavailableMiddleware:
    """Redis down → the authentication endpoints (/_allauth/) answer 503 with ``Retry-After``.

    allauth keeps its rate limits in the cache (Redis in production): unreachable, every sign-up
    and code request raised a ``redis`` error out of the view, a 500. Nothing was texted (the
    limits are checked first, and the SMS budget fails closed on its own): the client may retry.
    The body is the project's error format, as every other /_allauth/ failure it answers
    (core/errors.py). Only the cache's errors are turned into a 503: any other exception
    stays the 500 it is, so bugs are not hidden.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/_allauth/") or not isinstance(exception, RedisError):
            return None
        from core.errors import RETRY_AFTER_SECONDS, ServiceUnavailable, json_error

        logger.warning("authentication unavailable, cache down: %s", type(exception).__name__)
        response = json_error("service_unavailable", ServiceUnavailable.default_detail, 503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class ApiCommonMiddleware(CommonMiddleware):
    """CommonMiddleware, plus: an API path without its trailing slash reaches the same view.

    Apps write ``/api/v1/polls`` as often as ``/api/v1/polls/``. Django's answer, a redirect, is
    wrong for an API: clients re-send a redirected POST as a GET without its body (and under
    DEBUG Django refuses to redirect a POST at all). So the slash is added in place, before the
    URL is resolved, for every method. Only paths under /api/ that end without a slash and match
    nothing but the catch-all 404 are looked at: a request with the slash costs one string test.
    """

    def process_request(self, request: HttpRequest) -> HttpResponsePermanentRedirect | None:
        add_api_slash(request)
        return super().process_request(request)


def add_api_slash(request: HttpRequest) -> None:
    path = request.path_info
    if not path.startswith("/api/") or path.endswith("/"):
        return
    from core.errors import api_not_found

    resolver = get_resolver(getattr(request, "urlconf", None))

    def view_of(candidate: str) -> Callable[..., Any] | None:
        try:
            return resolver.resolve(candidate).func
        except Resolver404:
            return None

    if view_of(path) is not api_not_found:
        return
    if view_of(f"{path}/") in (None, api_not_found):
        return
    request.path_info = f"{path}/"
    request.path = f"{request.path}/"


# --- The app-token fast lane ---------------------------------------------------------------------
# An app's request to the API (``X-Session-Token`` under /api/v1/) authenticates by its token in
# DRF and uses no cookie: sessions, CSRF, cookie authentication, messages, allauth's redirects and
# the officials' session clock guard cookie-borne powers it does not have, yet cost a cookie parse,
# a lazy user and (under ASGI) a hop to the sync thread each. LeanApiRouter sends such requests
# past them, straight to the view, keeping what a JSON API does need: the security headers
# (SecurityMiddleware sits above the router), Accept-Language (LocaleMiddleware's own code), the
# trailing slash and user-agent rules (ApiCommonMiddleware's), X-Frame-Options, allauth's
# request context. A session cookie on such a request is ignored, not honoured: a stolen
# official's cookie next to a token buys nothing, and the idle clock of that session is not
# touched. Every other request (cookies, the admin, dashboards, /_allauth/) takes the full chain.

TOKEN_HEADER = "HTTP_X_SESSION_TOKEN"  # noqa: S105 - a header's name, not a secret

# LeanApiBottom (the last middleware) hands the innermost handler — URL resolution and the view,
# with Django's exception conversion — to LeanApiRouter (above it). Django builds the chain from
# the bottom up, in one thread, so a thread-local carries it from one constructor to the other.
_handoff = threading.local()


def is_app_token_request(request: HttpRequest, prefixes: tuple[str, ...]) -> bool:
    return TOKEN_HEADER in request.META and request.path_info.startswith(prefixes)


class LeanApiBottom:
    """The last middleware: passes through, and gives the router the view's end of the chain."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        _handoff.view_handler = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)


def _no_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("the lean lane calls the middleware's hooks, not their chain")


class LeanApiRouter:
    """App-token API requests → the view with only the middleware hooks a JSON API needs."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        view_handler = getattr(_handoff, "view_handler", None)
        _handoff.view_handler = None
        if view_handler is not None and iscoroutinefunction(view_handler) != self._async:
            view_handler = (sync_to_async if self._async else async_to_sync)(view_handler)
        # Without the bottom marker (a test's own MIDDLEWARE) every request takes the full chain.
        self.view_handler = view_handler
        # The product's is /api/v1/; bench.settings adds its baselines' prefix to compare alike.
        self.prefixes = tuple(settings.LEAN_API_PREFIXES)
        # Their hooks are plain CPU work (headers, the language, a URL check): called directly,
        # never through a thread hop.
        self.locale = LocaleMiddleware(_no_response)
        self.common = ApiCommonMiddleware(_no_response)
        self.xframe = XFrameOptionsMiddleware(_no_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.view_handler is None or not is_app_token_request(request, self.prefixes):
            return self.get_response(request)
        if self._async:
            return self._alean(request)
        response = self._before(request)
        if response is None:
            with allauth_context.request_context(request):
                response = self.view_handler(request)
        return self._after(request, response)

    async def _alean(self, request: HttpRequest) -> HttpResponseBase:
        response = self._before(request)
        if response is None:
            view_handler: Callable[..., Any] = self.view_handler  # type: ignore[assignment]
            with allauth_context.request_context(request):
                response = await view_handler(request)
        return self._after(request, response)

    def _before(self, request: HttpRequest) -> HttpResponseBase | None:
        # No session, no cookie user: DRF's token authentication sets the user, or refuses.
        request.user = AnonymousUser()
        request.allauth = SimpleNamespace()  # type: ignore[attr-defined]
        response = self.common.process_request(request)
        if response is not None:
            return response
        self.locale.process_request(request)
        return None

    def _after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = self.common.process_response(request, response)
        response = self.locale.process_response(request, response)
        # The stubs type it for HttpResponse; Django's code takes any response (it sets a header).
        return self.xframe.process_response(request, cast(HttpResponse, response))
