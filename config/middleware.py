"""Middleware adapted to ASGI."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


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
