"""What the FCM and APNs backends share: the collapse id, the outcome of one send, Retry-After,
the HTTP client and running a batch of concurrent sends from synchronous code."""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import hashlib
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from django.conf import settings
from django.utils import timezone

from notifications.push import PushError, PushMessage

T = TypeVar("T")

# APNs refuses an apns-collapse-id over 64 bytes; FCM's tag has no documented limit, but the
# same id on both keeps one notification per event on every phone.
MAX_COLLAPSE_ID = 64


def collapse_id(key: str) -> str:
    """``key`` as a collapse identifier: itself when short enough, else its SHA-256 (64 hex
    characters: still stable for the same key, so a resent batch still collapses)."""
    if len(key.encode()) <= MAX_COLLAPSE_ID:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


class Outcome(enum.Enum):
    SENT = "sent"
    DEAD = "dead"  # the provider says the token is gone: retire the device
    RETRY = "retry"  # the provider is down or limiting us: retry the whole batch later
    REAUTH = "reauth"  # our credential expired: a new one, then this send once more
    DROPPED = "dropped"  # refused for a reason a retry cannot fix (logged by code, not retired)


@dataclass(frozen=True)
class Result:
    token: str
    outcome: Outcome
    code: str = ""
    retry_after: float | None = None


def retry_after(response: httpx.Response) -> float | None:
    """The response's Retry-After in seconds (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - timezone.now()).total_seconds())


def sends(messages: Iterable[PushMessage]) -> list[tuple[PushMessage, str]]:
    """Every (message, token) pair: one provider request each."""
    return [(message, token) for message in messages for token in message.tokens]


def tls_context() -> ssl.SSLContext | bool:
    """The system's trust store, or ``PUSH_CA_FILE`` (an egress proxy's CA, the tests' CA)."""
    if settings.PUSH_CA_FILE:
        return ssl.create_default_context(cafile=settings.PUSH_CA_FILE)
    return True


def client(*, http1: bool = True) -> httpx.AsyncClient:
    """An HTTP/2 client for one batch. ``http1=False`` refuses to fall back (APNs speaks only
    HTTP/2)."""
    return httpx.AsyncClient(
        http1=http1,
        http2=True,
        verify=tls_context(),
        timeout=httpx.Timeout(settings.PUSH_TIMEOUT_SECONDS),
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
    )


async def gather_limited(calls: Sequence[Callable[[], Awaitable[T]]], *, limit: int) -> list[T]:
    """Run ``calls`` concurrently, at most ``limit`` at a time (streams on one HTTP/2
    connection): a batch of 500 takes a few round trips instead of 500."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))


def run(coroutine_factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from synchronous code (Celery workers, the in-process scheduler); on a
    thread of its own when this thread already runs an event loop."""

    async def main() -> T:
        return await coroutine_factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def settle(results: list[Result], *, provider: str, dead_tokens: list[str]) -> int:
    """Record dead tokens; raise :class:`PushError` if anything must be retried; return how
    many sends the provider accepted."""
    dead_tokens.extend(result.token for result in results if result.outcome is Outcome.DEAD)
    retry = [result for result in results if result.outcome in (Outcome.RETRY, Outcome.REAUTH)]
    if retry:
        waits = [result.retry_after for result in retry if result.retry_after is not None]
        codes = sorted({result.code for result in retry})
        raise PushError(
            f"{provider}: {len(retry)} of {len(results)} sends to retry ({', '.join(codes)})",
            retry_after=max(waits) if waits else None,
        )
    return sum(result.outcome is Outcome.SENT for result in results)
