"""The publishing half of the live tallies: coalesced sends of a poll's snapshot to its group.

After a counted batch or an official's action (after commit), the poll is marked changed; one task
per poll and event loop reads the latest snapshot and sends it, at most once per interval, and
across processes at most once per window claimed in Redis.
"""

import asyncio
import contextvars
import logging
import os
import threading
import weakref
from typing import Any

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from voting.live.snapshot import group_name, interval, snapshot

logger = logging.getLogger(__name__)


def tally_changed(poll_id: int) -> None:
    """A poll's totals or status changed (call after commit). Never raises, never blocks long."""
    loop = _server_loop()
    try:
        if loop is None:
            # No server loop here (a WSGI worker, a management command): publish from this
            # process's own background loop, coalesced the same way.
            loop = _background_loop()
        # A fresh context: the caller's (a sync view's) marks its thread as busy, and a task
        # inheriting that would refuse to run database work ("would deadlock").
        loop.call_soon_threadsafe(_publisher(loop).mark, poll_id, context=contextvars.Context())
    except Exception as exc:
        logger.warning("live update for poll %s not sent: %s", poll_id, type(exc).__name__)


poll_changed = tally_changed


def _server_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    # A sync view under ASGI runs in a worker thread; asgiref remembers the server's loop there.
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    if loop is not None and pid == os.getpid() and loop.is_running():
        return loop
    return None


_background: asyncio.AbstractEventLoop | None = None
_background_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """An event loop on a daemon thread of its own, started on first use in this process."""
    global _background
    with _background_lock:
        if _background is None or _background.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True).start()
            _background = loop
        return _background


async def _send(poll_id: int) -> None:
    message = await database_sync_to_async(snapshot)(poll_id)
    await get_channel_layer().group_send(group_name(poll_id), message)


def wait_for_sends(timeout: float = 10.0) -> None:
    """Block until this process's background publisher has sent what it was asked to (a
    short-lived process, such as ``count_ballots --once``, would otherwise exit first)."""
    loop = _background
    if loop is None or loop.is_closed():
        return

    async def drain() -> None:
        await asyncio.sleep(0)  # let marks already handed to the loop schedule their sends
        while True:
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            if not pending:
                return
            await asyncio.wait(pending, timeout=timeout)
            if all(task.done() for task in pending):
                return

    try:
        asyncio.run_coroutine_threadsafe(drain(), loop).result(timeout + 1)
    except TimeoutError:
        logger.warning("live updates still unsent after %ss", timeout)


class Publisher:
    """Per event loop: at most one send per poll per interval, always of the latest state."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.last_sent: dict[int, float] = {}
        self.scheduled: dict[int, asyncio.Task] = {}

    def mark(self, poll_id: int) -> None:
        if poll_id in self.scheduled:
            return  # the scheduled send reads the state when it runs, so it includes this change
        if len(self.last_sent) > 10_000:  # forget polls quiet for a while
            horizon = self.loop.time() - 60
            self.last_sent = {k: v for k, v in self.last_sent.items() if v > horizon}
        delay = self.last_sent.get(poll_id, -1e9) + interval() - self.loop.time()
        self.scheduled[poll_id] = self.loop.create_task(self._send_after(poll_id, max(0, delay)))

    async def _send_after(self, poll_id: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        busy_for = await _claim_window(poll_id)
        if busy_for is not None:
            # Another process sends this poll's snapshot in this window. Its read may have come
            # before our change, so try again when its window ends (one send per window overall).
            self.scheduled[poll_id] = self.loop.create_task(self._send_after(poll_id, busy_for))
            return
        # Unschedule before reading: a ballot committed during the read schedules the next send.
        self.scheduled.pop(poll_id, None)
        self.last_sent[poll_id] = self.loop.time()
        try:
            await _send(poll_id)
        except Exception as exc:
            # Redis down: dashboards get a fresh snapshot when they reconnect.
            logger.warning("live update for poll %s not sent: %s", poll_id, type(exc).__name__)


_redis_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]" = (
    weakref.WeakKeyDictionary()
)


async def _claim_window(poll_id: int) -> float | None:
    """Across processes, at most one snapshot per poll per interval: the process that claims the
    window in Redis sends; the others learn how long until it ends. None: send (claimed, or no
    Redis to agree through — then each process coalesces on its own)."""
    if not settings.REDIS_URL:
        return None
    import redis.asyncio

    loop = asyncio.get_running_loop()
    try:
        client = _redis_clients.get(loop)
        if client is None:
            client = _redis_clients[loop] = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        key = f"{settings.CHANNEL_LAYER_PREFIX}:live-window:{poll_id}"
        window_ms = max(1, int(interval() * 1000))
        if await client.set(key, 1, nx=True, px=window_ms):
            return None
        remaining_ms = await client.pttl(key)
    except Exception as exc:
        logger.info("live: window claim skipped: %s", type(exc).__name__)
        return None
    return max(remaining_ms, 1) / 1000


_publishers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Publisher]" = (
    weakref.WeakKeyDictionary()
)


def _publisher(loop: asyncio.AbstractEventLoop) -> Publisher:
    if loop not in _publishers:
        _publishers[loop] = Publisher(loop)
    return _publishers[loop]


def stop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the sends scheduled on ``loop`` (tests; server shutdown)."""
    publisher = _publishers.pop(loop, None)
    if publisher is not None:
        for task in publisher.scheduled.values():
            task.cancel()
