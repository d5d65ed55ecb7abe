"""The live tally stream: ``/ws/polls/<id>/`` for the officials who may see the poll."""

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from accounts import officials_auth
from accounts import selectors as account_selectors
from core import metrics
from core.websocket import origin_header
from voting import live, selectors, tickets

CLOSE_FORBIDDEN = 4403


class TicketAuthMiddleware(BaseMiddleware):
    """``?ticket=`` (from ``POST /api/v1/ws-tickets/``) authenticates an app's socket.

    A socket without an ``Origin`` header (a native app; core.websocket.OriginGate has already
    refused any foreign Origin) is authenticated by an app ticket or not at all: its cookie, if
    any, is ignored, and so is a ticket issued to a browser's cookie session.
    """

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
        raw = (query.get("ticket") or [""])[0]
        without_origin = origin_header(scope) is None
        if raw or without_origin:
            scope = dict(scope)
            ticket = await database_sync_to_async(tickets.redeem)(raw) if raw else None
            if ticket is not None and without_origin and not ticket.native:
                ticket = None
            scope["ticket"] = ticket
            scope["user"] = await _user(ticket.user_id) if ticket is not None else AnonymousUser()
        return await super().__call__(scope, receive, send)


@database_sync_to_async
def _user(user_id: int):
    return account_selectors.active_user(user_id=user_id) or AnonymousUser()


class PollTallyConsumer(AsyncJsonWebsocketConsumer):
    # No channel-layer channel per socket: the process's relay receives once for all its sockets
    # (an alias that names no layer makes Channels skip the per-consumer subscription).
    channel_layer_alias = "__none__"

    async def connect(self) -> None:
        self.poll_id = int(self.scope["url_route"]["kwargs"]["poll_id"])
        self.last: tuple[str, int] | None = None
        if not await self._allowed():
            # Refused during the handshake: the client sees HTTP 403, no socket opens.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()
        metrics.WEBSOCKET_CONNECTIONS.inc()
        self.open_counted = True
        # Subscribe first, then send the snapshot: no change can fall between the two.
        self.relay = live.relay()
        await self.relay.subscribe(self.poll_id, self.push)
        first = await database_sync_to_async(live.snapshot)(self.poll_id)
        self.relay.watch_boundary(first)
        await self.push_message(first)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "open_counted", False):
            metrics.WEBSOCKET_CONNECTIONS.dec()
            self.open_counted = False
        relay = getattr(self, "relay", None)
        if relay is not None:
            await relay.unsubscribe(self.poll_id, self.push)

    async def receive_json(self, content: Any, **kwargs) -> None:
        # The only thing a dashboard asks for is a fresh snapshot (after waking up, say).
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.push_message(await database_sync_to_async(live.snapshot)(self.poll_id))

    async def push(self, text: str, message: dict[str, Any]) -> None:
        if self._is_stale(message):
            return
        await self.send(text_data=text)

    async def push_message(self, message: dict[str, Any]) -> None:
        self._is_stale(message)
        await self.send_json(message)

    def _is_stale(self, message: dict[str, Any]) -> bool:
        """Totals only grow while a status lasts: an older message arriving late is dropped."""
        # A total withheld (fewer than k counted) is null: it comes before any number.
        total = message["total"] if message.get("total") is not None else -1
        current = (message["status"], total)
        if self.last and self.last[0] == current[0] and current[1] < self.last[1]:
            return True
        self.last = current
        return False

    async def _allowed(self) -> bool:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return False
        ticket = self.scope.get("ticket")
        if ticket is not None and ticket.poll_id != self.poll_id:
            return False
        # No Origin: not a browser, so no cookie counts; only an app's ticket (checked again
        # here in case the middleware is ever left out of the stack).
        if origin_header(self.scope) is None and (ticket is None or not ticket.native):
            return False
        return await database_sync_to_async(self._may_see)(user, by_ticket=ticket is not None)

    def _may_see(self, user, *, by_ticket: bool) -> bool:
        if not by_ticket:
            # A browser's admin session: the same second factor and timeouts as the pages (a
            # ticket was issued only to a session that passed them: voting/officials_api.py).
            session = self.scope.get("session")
            if session is None:
                return False
            if officials_auth.session_state(session=session, user=user) != officials_auth.State.OK:
                return False
            if session.modified:
                session.save()
        return selectors.live_poll_for(user=user, poll_id=self.poll_id) is not None
