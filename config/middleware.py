"""Middleware adapted to ASGI."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
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
