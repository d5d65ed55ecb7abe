"""Who may open the live tally WebSocket: origins compared exactly, native apps by ticket only.

Through the real ASGI application (config.asgi), the real session and cache stores. The
attackers: a malicious web page an official visits (its browser sends the official's cookie and
the page's own ``Origin``, which no page can forge), a page on another port or scheme of our own
host name, and someone replaying a browser's ticket outside the browser. The control is the
native app (no ``Origin``, as native WebSocket clients send none) with a ticket it got with its
session token.
"""

from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import make_session_token, pass_second_factor
from tests.factories import OfficialFactory, PollFactory
from voting import live, tickets

pytestmark = pytest.mark.django_db(transaction=True)

EVIL = b"https://evil.example"


@pytest.fixture(autouse=True)
async def _fresh_layer():
    channel_layers.backends.clear()
    yield
    live.stop_all()
    channel_layers.backends.clear()


@database_sync_to_async
def _poll_and_official():
    return PollFactory(), OfficialFactory(role="official")


@database_sync_to_async
def _browser_cookie(user) -> str:
    """The session cookie of an official logged in to the admin (password and second factor)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    pass_second_factor(store, user)
    store.create()
    return store.session_key


@database_sync_to_async
def _app_ticket(user, poll) -> str:
    """A ticket as the native app gets it: ``POST /api/v1/ws-tickets/`` with its session token."""
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=make_session_token(user))
    response = client.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


@database_sync_to_async
def _browser_ticket(user, poll) -> str:
    """A ticket asked for by a browser page, authenticated by the admin's session cookie."""
    client = Client()
    client.force_login(user)
    response = client.post(
        "/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


async def _connects(
    poll_id: int,
    *,
    origin: bytes | None,
    host: bytes = b"testserver",
    cookie: str | None = None,
    ticket: str | None = None,
    extra: list[tuple[bytes, bytes]] = (),
) -> bool:
    from config.asgi import application

    headers = [(b"host", host), *extra]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    path = f"/ws/polls/{poll_id}/" + (f"?ticket={ticket}" if ticket else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    if connected:
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["poll"] == poll_id
    await communicator.disconnect()
    return connected


async def test_an_allowed_host_on_another_port_or_scheme_is_refused():
    """The finding: the origin check compared the host only, so a page on
    ``http://testserver:8443`` (another service on our name) could open an official's socket
    with their cookie. Now scheme, host and port must all be the site's own."""
    poll, official = await _poll_and_official()
    cookie = await _browser_cookie(official)

    assert await _connects(poll.pk, origin=b"http://testserver", cookie=cookie)  # the control
    for origin in (
        b"http://testserver:8443",
        b"http://testserver:80.evil.example",
        b"https://testserver",
        b"ws://testserver",
        b"http://testserver.evil.example",
        b"http://user@testserver",
        b"null",
        b"",
    ):
        assert not await _connects(poll.pk, origin=origin, cookie=cookie), origin


async def test_configured_origins_match_exactly(settings):
    """``WEBSOCKET_ALLOWED_ORIGINS`` (by default CSRF_TRUSTED_ORIGINS) lets the city's web
    front end on its own name in, on that scheme and port only; a wildcard entry admits
    subdomains, on that scheme and port only."""
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://vote.seoul.example", "https://*.city.example"]
    poll, official = await _poll_and_official()

    for origin, admitted in (
        (b"https://vote.seoul.example", True),
        (b"https://vote.seoul.example:443", True),
        (b"https://VOTE.seoul.example", True),
        (b"https://vote.seoul.example:8443", False),
        (b"http://vote.seoul.example", False),
        (b"https://evil.vote.seoul.example", False),
        (b"https://dash.city.example", True),
        (b"https://dash.city.example:8443", False),
        (b"http://dash.city.example", False),
        (b"https://city.example.evil.example", False),
    ):
        cookie = await _browser_cookie(official)
        assert await _connects(poll.pk, origin=origin, cookie=cookie) is admitted, origin


async def test_behind_the_tls_proxy_the_site_is_its_https_origin(settings):
    """nginx terminates TLS and says so in X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER): the
    dashboard page at https://vote.seoul.example is admitted, its http:// twin is not."""
    settings.ALLOWED_HOSTS = ["vote.seoul.example"]
    poll, official = await _poll_and_official()
    behind_proxy = {"host": b"vote.seoul.example", "extra": [(b"x-forwarded-proto", b"https")]}

    cookie = await _browser_cookie(official)
    assert await _connects(
        poll.pk, origin=b"https://vote.seoul.example", cookie=cookie, **behind_proxy
    )
    cookie = await _browser_cookie(official)
    assert not await _connects(
        poll.pk, origin=b"http://vote.seoul.example", cookie=cookie, **behind_proxy
    )
    # A Host that is not ours (DNS rebinding) is not "the site itself".
    cookie = await _browser_cookie(official)
    assert not await _connects(
        poll.pk, origin=b"https://rebound.example", cookie=cookie, host=b"rebound.example"
    )


async def test_with_debug_a_loopback_dev_server_on_any_port_is_admitted(settings):
    """Development only: the front end's dev server (localhost:5173) may open sockets; a
    foreign page still may not. Without DEBUG, localhost:5173 is refused like any other."""
    poll, official = await _poll_and_official()
    settings.DEBUG = True
    for origin, admitted in (
        (b"http://localhost:5173", True),
        (b"http://127.0.0.1:3000", True),
        (b"http://[::1]:8080", True),
        (EVIL, False),
    ):
        cookie = await _browser_cookie(official)
        assert await _connects(poll.pk, origin=origin, cookie=cookie) is admitted, origin
    settings.DEBUG = False
    cookie = await _browser_cookie(official)
    assert not await _connects(poll.pk, origin=b"http://localhost:5173", cookie=cookie)


async def test_a_native_app_connects_without_origin_with_its_ticket():
    """The finding: native apps send no Origin, and every handshake without one was refused,
    so the app's ticket flow never worked. Now a ticket got with the app's session token
    opens the socket without Origin, once."""
    poll, official = await _poll_and_official()
    ticket = await _app_ticket(official, poll)

    assert await _connects(poll.pk, origin=None, ticket=ticket)
    assert not await _connects(poll.pk, origin=None, ticket=ticket)  # single use


async def test_without_origin_a_cookie_or_a_browsers_ticket_is_not_enough():
    """Attacker: someone replaying a browser's credentials outside the browser, where no Origin
    is checked. Without Origin only an app's ticket counts: not the session cookie, not a
    ticket the browser page asked for with its cookie, not a ticket made for another poll."""
    poll, official = await _poll_and_official()
    other_poll = await database_sync_to_async(PollFactory)()

    assert not await _connects(poll.pk, origin=None)
    assert not await _connects(poll.pk, origin=None, cookie=await _browser_cookie(official))
    browser_ticket = await _browser_ticket(official, poll)
    assert not await _connects(poll.pk, origin=None, ticket=browser_ticket)
    # The same kind of ticket does work from the page it was made for.
    assert await _connects(
        poll.pk, origin=b"http://testserver", ticket=await _browser_ticket(official, poll)
    )
    wrong_poll = await _app_ticket(official, other_poll)
    assert not await _connects(poll.pk, origin=None, ticket=wrong_poll)


async def test_a_malicious_page_is_refused_with_cookie_and_with_ticket():
    """Attacker: a page on another site that the official visits. Its browser sends the
    official's cookie and the page's Origin; even holding an app ticket (leaked, say), it is
    refused before the ticket is looked at, so the ticket still works for the app."""
    poll, official = await _poll_and_official()
    ticket = await _app_ticket(official, poll)

    assert not await _connects(poll.pk, origin=EVIL, cookie=await _browser_cookie(official))
    assert not await _connects(poll.pk, origin=EVIL, ticket=ticket)
    assert not await _connects(
        poll.pk, origin=EVIL, ticket=ticket, cookie=await _browser_cookie(official)
    )
    # Two Origin headers (one ours, one not) are refused, not read as "no Origin".
    assert not await _connects(
        poll.pk, origin=EVIL, ticket=ticket, extra=[(b"origin", b"http://testserver")]
    )
    assert await _connects(poll.pk, origin=None, ticket=ticket)


async def test_tickets_issued_before_the_native_mark_are_browser_tickets():
    """A ticket already in the cache when this was deployed (a pair, no mark) still opens a
    socket from the site's page, never one without Origin."""
    from django.core.cache import cache

    poll, official = await _poll_and_official()
    old_style = "x" * 43
    await database_sync_to_async(cache.set)(tickets._key(old_style), (official.pk, poll.pk), 30)
    redeemed = await database_sync_to_async(tickets.redeem)(old_style)
    assert redeemed is not None and not redeemed.native
