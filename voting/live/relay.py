"""The receiving half of the live tallies: one channel-layer subscription per poll and process.

Each server process joins a poll's group once, with one channel of its own, and hands each message
to its local sockets in memory (at most one per poll per interval, always the latest), so Redis
carries one message per poll per process, not one per dashboard.
"""

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from voting.live.snapshot import group_name, interval, parse_instant, snapshot

logger = logging.getLogger(__name__)

# A socket's push: the message encoded once for all sockets, and as a dict.
Deliver = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]


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
            for at in (parse_instant(message["opens_at"]), parse_instant(message["closes_at"]))
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
        delay = self.last_delivered.get(poll_id, -1e9) + interval() - self.loop.time()
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


def stop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel ``loop``'s relay (tests; server shutdown)."""
    if loop in _relays:
        _relays.pop(loop).stop()


def relay() -> Relay:
    loop = asyncio.get_running_loop()
    if loop not in _relays:
        _relays[loop] = Relay(loop)
    return _relays[loop]
