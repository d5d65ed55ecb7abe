"""Live tallies for the officials' dashboards.

Two halves, one per direction, both coalescing to at most one message per poll per
``LIVE_MIN_INTERVAL`` (0.1 s) however fast ballots arrive, and always ending on the latest state:

- **Publisher** (the counter, after each batch it commits; any process, after an official's
  action on a poll): the poll is marked changed; one task per poll reads the current totals (a
  single counter query) and sends the full snapshot through the channel layer to the poll's
  group. Casting a ballot publishes nothing: totals move only when a batch of at least
  ``BALLOT_BATCH_MIN`` is counted, so no message follows a single citizen's ballot.
- **Relay** (where dashboards are connected): each server process joins the poll's group once,
  with one channel of its own, and hands each message to its local sockets in memory. Redis then
  carries one message per poll per process, not one per dashboard.

Every message is the full current state, so a lost one is healed by the next; PostgreSQL stays the
source of truth and nothing here can lose or delay a ballot.
"""

import asyncio
import contextvars
import json
import logging
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone, translation

from voting import results, tallies
from voting.models import Poll

logger = logging.getLogger(__name__)


def _parse(value: str | None):
    from django.utils.dateparse import parse_datetime

    return parse_datetime(value) if value else None


def group_name(poll_id: int) -> str:
    return f"poll-{poll_id}"


def snapshot(poll_id: int) -> dict[str, Any]:
    """The full live message for one poll: status, totals and suppressed breakdowns."""
    poll = Poll.objects.prefetch_related("options").get(pk=poll_id)
    # Whoever builds it (a ballot request in English, a socket in Korean), every dashboard gets
    # the same message: labels in the default language, codes beside them for clients to localise.
    with translation.override(settings.LANGUAGE_CODE):
        document = results.build(poll, tallies.read(poll_id))
    return {
        "type": "tally",
        "poll": poll.pk,
        "title": poll.title,
        "status": document["status"],
        "opens_at": poll.opens_at.isoformat(),
        "closes_at": poll.closes_at.isoformat(),
        "results_published": poll.results_published_at is not None,
        "total": document["total"],
        "withheld": document["withheld"],
        "batch_min": document["batch_min"],
        "note": document["note"],
        "options": [
            {"id": o["id"], "label": o["label"], "votes": o["votes"], "share": o["share"]}
            for o in document["options"]
        ],
        "breakdown": document["breakdown"],
    }


# --- Publisher -----------------------------------------------------------------------------------


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


def _interval() -> float:
    return settings.LIVE_MIN_INTERVAL


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
        delay = self.last_sent.get(poll_id, -1e9) + _interval() - self.loop.time()
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
        window_ms = max(1, int(_interval() * 1000))
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


# --- Relay ---------------------------------------------------------------------------------------

Deliver = Callable[[str, dict[str, Any]], Awaitable[None]]


class Relay:
    """Per event loop (= per server process): one channel-layer subscription per poll."""

    REJOIN_EVERY = 600.0  # group memberships expire in Redis; renew them well before

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.subscribers: dict[int, set[Deliver]] = {}
        self.channel: str | None = None
        self.receiver: asyncio.Task | None = None
        self.rejoiner: asyncio.Task | None = None
        self.latest: dict[int, dict[str, Any]] = {}
        self.last_delivered: dict[int, float] = {}
        self.scheduled: dict[int, asyncio.TimerHandle] = {}
        self.boundaries: dict[int, asyncio.TimerHandle] = {}
        self.locks: dict[int, asyncio.Lock] = {}

    async def subscribe(self, poll_id: int, deliver: Deliver) -> None:
        await self._start()
        async with self._lock(poll_id):
            first = not self.subscribers.get(poll_id)
            self.subscribers.setdefault(poll_id, set()).add(deliver)
            if first:
                await self._join(poll_id)

    async def unsubscribe(self, poll_id: int, deliver: Deliver) -> None:
        # Serialised with subscribe per poll: a join racing a leave must not end up left.
        async with self._lock(poll_id):
            subscribers = self.subscribers.get(poll_id)
            if not subscribers:
                return
            subscribers.discard(deliver)
            if subscribers:
                return
            del self.subscribers[poll_id]
            self.last_delivered.pop(poll_id, None)
            self.latest.pop(poll_id, None)
            for handle in (self.scheduled.pop(poll_id, None), self.boundaries.pop(poll_id, None)):
                if handle is not None:
                    handle.cancel()
            try:
                await get_channel_layer().group_discard(group_name(poll_id), self.channel)
            except Exception as exc:
                logger.info("live: leaving poll %s failed: %s", poll_id, type(exc).__name__)

    def _lock(self, poll_id: int) -> asyncio.Lock:
        return self.locks.setdefault(poll_id, asyncio.Lock())

    def watch_boundary(self, message: dict[str, Any]) -> None:
        """A poll opens and closes by the clock, with no event to announce it: at the next of
        those instants, send this process's sockets a fresh snapshot."""
        poll_id = message["poll"]
        now = timezone.now()
        upcoming = [
            at
            for at in (_parse(message["opens_at"]), _parse(message["closes_at"]))
            if at is not None and at > now
        ]
        previous = self.boundaries.pop(poll_id, None)
        if previous is not None:
            previous.cancel()
        if upcoming and poll_id in self.subscribers:
            delay = (min(upcoming) - now).total_seconds() + 0.05
            self.boundaries[poll_id] = self.loop.call_later(
                delay, lambda: self.loop.create_task(self._refresh(poll_id))
            )

    async def _refresh(self, poll_id: int) -> None:
        self.boundaries.pop(poll_id, None)
        try:
            self.accept(await database_sync_to_async(snapshot)(poll_id))
        except Exception as exc:
            logger.warning("live: refresh of poll %s failed: %s", poll_id, type(exc).__name__)

    def stop(self) -> None:
        for task in (self.receiver, self.rejoiner):
            if task is not None:
                task.cancel()
        for handle in (*self.scheduled.values(), *self.boundaries.values()):
            handle.cancel()

    async def _start(self) -> None:
        if self.receiver is not None and not self.receiver.done():
            return
        self.channel = await get_channel_layer().new_channel(prefix="relay")
        self.receiver = self.loop.create_task(self._receive_forever())
        self.rejoiner = self.loop.create_task(self._rejoin_periodically())

    async def _join(self, poll_id: int) -> bool:
        try:
            await get_channel_layer().group_add(group_name(poll_id), self.channel)
        except Exception as exc:
            logger.warning("live: joining poll %s failed: %s", poll_id, type(exc).__name__)
            return False
        return True

    async def _rejoin_all(self) -> None:
        for poll_id in list(self.subscribers):
            await self._join(poll_id)

    async def _rejoin_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.REJOIN_EVERY)
            await self._rejoin_all()

    async def _receive_forever(self) -> None:
        layer = get_channel_layer()
        backoff = 0.5
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Redis away: wait, then join again (a restarted Redis has forgotten the groups).
                logger.warning("live: channel layer unavailable: %s", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                await self._rejoin_all()
                continue
            backoff = 0.5
            if message.get("type") == "tally":
                self.accept(message)

    def accept(self, message: dict[str, Any]) -> None:
        """Keep the newest message per poll; deliver at most once per interval."""
        poll_id = message["poll"]
        self.latest[poll_id] = message
        if poll_id in self.scheduled:
            return
        delay = self.last_delivered.get(poll_id, -1e9) + _interval() - self.loop.time()
        if delay <= 0:
            self._deliver(poll_id)
        else:
            self.scheduled[poll_id] = self.loop.call_later(delay, self._deliver, poll_id)

    def _deliver(self, poll_id: int) -> None:
        self.scheduled.pop(poll_id, None)
        message = self.latest.pop(poll_id, None)
        if message is None:
            return
        self.last_delivered[poll_id] = self.loop.time()
        self.watch_boundary(message)
        text = json.dumps(message, ensure_ascii=False)  # encoded once for every socket
        for deliver in list(self.subscribers.get(poll_id, ())):
            self.loop.create_task(deliver(text, message))


_relays: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay]" = weakref.WeakKeyDictionary()


def stop_all() -> None:
    """Cancel this loop's relay and scheduled sends (tests; server shutdown)."""
    loop = asyncio.get_running_loop()
    if loop in _relays:
        _relays.pop(loop).stop()
    publisher = _publishers.pop(loop, None)
    if publisher is not None:
        for task in publisher.scheduled.values():
            task.cancel()


def relay() -> Relay:
    loop = asyncio.get_running_loop()
    if loop not in _relays:
        _relays[loop] = Relay(loop)
    return _relays[loop]
