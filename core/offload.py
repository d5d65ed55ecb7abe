"""Run API views on a thread pool instead of the process's single sync thread.

Under ASGI, Django runs every sync view on one thread per process, so while one request waits for
PostgreSQL no other can run. The API's views are plain sync DRF views; this wraps each in an async
view that runs it on a pool of ``API_WORKER_THREADS`` threads, each with its own pooled database
connection, so requests overlap their database waits. ``API_WORKER_THREADS = 0`` runs views
inline (the test suite does, so tests share the test's transaction).
"""

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections
from django.http import HttpRequest, HttpResponse

_executor: ThreadPoolExecutor | None = None

View = Callable[..., HttpResponse]
# What offloaded() gives back: the view itself, or an async view awaiting it on the pool. Any, as
# no one type is both, and Django's path() takes either.
MaybeAsyncView = Callable[..., Any]


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=settings.API_WORKER_THREADS, thread_name_prefix="api"
        )
    return _executor


def _run(view: View, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    close_old_connections()
    try:
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()  # DRF renders lazily: do it here, not on the loop
        return response
    finally:
        # Give this thread's connection back to the pool: the next request on this thread may
        # be a while, and the pool is shared by every thread of the process.
        connections.close_all()


def offloaded(view: View) -> MaybeAsyncView:
    if not settings.API_WORKER_THREADS:
        # Served by WSGI workers (config/wsgi.py), or told so: a plain sync view is fastest.
        return view

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_WORKER_THREADS:
            # Inline: the thread that called us (the test's, with its transaction).
            return await sync_to_async(view, thread_sensitive=True)(request, *args, **kwargs)
        return await sync_to_async(_run, thread_sensitive=False, executor=_pool())(
            view, request, *args, **kwargs
        )

    # Keep the CSRF exemption and other flags DRF's as_view() put on the view.
    wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return wrapper
