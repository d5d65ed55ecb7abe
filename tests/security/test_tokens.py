"""Tokens (OWASP API2): missing, expired, logged-out, garbage credentials on REST and WebSocket.

REST: every authenticated endpoint answers 401 in the error format and writes nothing. Already
proven elsewhere: a missing or garbage token on the ballot endpoint and a deactivated account
(tests/voting/test_api_ballots_rules.py), logout ending the token for allauth
(tests/accounts/test_auth_flows.py), a used ticket and a ticket for another poll
(tests/voting/test_consumers.py).
"""

import time
from datetime import timedelta
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.sessions import stored_key
from tests.conftest import make_session_token, pass_second_factor
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from tests.security.conftest import world_state
from voting import casting, live, tickets

# --- REST ---------------------------------------------------------------------------------------


def _expired(user) -> str:
    token = make_session_token(user)
    Session.objects.filter(session_key=stored_key(token)).update(
        expire_date=timezone.now() - timedelta(1)
    )
    return token


def _logged_out(user) -> str:
    token = make_session_token(user)
    response = APIClient().delete("/_allauth/app/v1/auth/session", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 401  # allauth: logged out
    return token


def _password_changed(user) -> str:
    token = make_session_token(user)
    user.set_password("a brand new password 123")  # sessions carry the old hash
    user.save()
    return token


def _of_a_deleted_user(user) -> str:
    token = make_session_token(CitizenFactory())
    from accounts.models import User

    User.objects.exclude(pk=user.pk).filter(is_staff=False).delete()
    return token


TOKENS = {
    "missing": lambda user: None,
    "empty": lambda user: "",
    "expired": _expired,
    "logged-out": _logged_out,
    "password-changed": _password_changed,
    "deleted-user": _of_a_deleted_user,
    "garbage": lambda user: "garbage",
    "overlong": lambda user: "a" * 10_000,
    "sql": lambda user: "' OR '1'='1",
    "unicode": lambda user: "토큰",
    "another-sessions-key-shape": lambda user: make_session_token(user)[:-1] + "!",
}

ENDPOINTS = [
    ("get", "/api/v1/me/", None),
    ("patch", "/api/v1/me/", {"gender": "male"}),
    ("delete", "/api/v1/me/", None),
    ("get", "/api/v1/polls/", None),
    ("get", "/api/v1/polls/{poll}/", None),
    ("post", "/api/v1/polls/{poll}/ballots/", "ballot"),
    ("get", "/api/v1/polls/{poll}/results/", None),
    ("post", "/api/v1/me/groups/", {"group": 1}),
    ("post", "/api/v1/ws-tickets/", "ticket"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", TOKENS.keys())
def test_rest_refuses_bad_tokens_with_401_and_writes_nothing(kind):
    poll = PollFactory(results_visibility="live")
    user = OfficialFactory(role="official") if kind == "password-changed" else CitizenFactory()
    token = TOKENS[kind](user)
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_X_SESSION_TOKEN=token)
    before = world_state()

    for method, path, body in ENDPOINTS:
        if body == "ballot":
            body = {"options": [poll.options.first().pk]}
        elif body == "ticket":
            body = {"poll": poll.pk}
        response = getattr(client, method)(path.format(poll=poll.pk), body, format="json")
        assert response.status_code == 401, (kind, method, path, response.content)
        assert response.json()["code"] in {"authentication_required", "invalid_session_token"}
        assert response["WWW-Authenticate"] == "X-Session-Token"

    assert world_state() == before


@pytest.mark.django_db
def test_a_bad_token_is_refused_even_where_no_login_is_needed():
    """Public endpoints do not fall back to anonymous for a token that was sent but is bad —
    the board and the receipt lookup included, which anyone may read without one."""
    poll = PollFactory(results_visibility="live")
    receipt = casting.cast_ballot(
        poll=poll, voter=CitizenFactory(), option_ids=[poll.options.first().pk]
    ).body["receipt"]
    public = ("/api/v1/districts/", "/api/v1/groups/", f"/api/v1/polls/{poll.pk}/board/")
    public += (f"/api/v1/receipts/{receipt}/",)
    for path in public:
        assert APIClient().get(path).status_code == 200, path
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN="garbage")
    for path in public:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "invalid_session_token"


# --- WebSocket ----------------------------------------------------------------------------------

ws = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def _fresh_layer():
    channel_layers.backends.clear()
    yield
    live.stop_all()
    channel_layers.backends.clear()


@database_sync_to_async
def _session_cookie(user, *, expired: bool = False) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    pass_second_factor(store, user)  # the admin's login asks for it (accounts/officials_auth.py)
    store.create()
    if expired:
        Session.objects.filter(session_key=stored_key(store.session_key)).update(
            expire_date=timezone.now() - timedelta(days=1)
        )
    return store.session_key


async def _connects(poll_id: int, *, cookie: str | None = None, query: str = "") -> bool:
    from config.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    path = f"/ws/polls/{poll_id}/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@database_sync_to_async
def _poll_and_official():
    return PollFactory(), OfficialFactory(role="official")


@ws
@pytest.mark.usefixtures("_fresh_layer")
async def test_the_right_credentials_connect():
    """The control: a fresh ticket and a live session cookie of an official are admitted."""
    poll, official = await _poll_and_official()
    ticket = await database_sync_to_async(tickets.issue)(user_id=official.pk, poll_id=poll.pk)
    assert await _connects(poll.pk, query=f"ticket={ticket}")
    assert await _connects(poll.pk, cookie=await _session_cookie(official))


@ws
@pytest.mark.usefixtures("_fresh_layer")
@pytest.mark.parametrize(
    "query",
    [
        "ticket=garbage",
        "ticket=",
        "ticket=" + "a" * 5_000,
        "ticket=%00%00%00",
        "ticket=%ED%A0%80",
        "ticket[]=x&ticket=y",
    ],
)
async def test_garbage_tickets_are_refused_at_the_handshake(query):
    poll, _ = await _poll_and_official()
    assert not await _connects(poll.pk, query=query)


@ws
@pytest.mark.usefixtures("_fresh_layer")
async def test_expired_ticket_is_refused(settings):
    settings.WS_TICKET_TTL = 1
    poll, official = await _poll_and_official()
    ticket = await database_sync_to_async(tickets.issue)(user_id=official.pk, poll_id=poll.pk)
    time.sleep(1.5)
    assert not await _connects(poll.pk, query=f"ticket={ticket}")


@ws
@pytest.mark.usefixtures("_fresh_layer")
async def test_ticket_of_a_deactivated_official_is_refused():
    poll, official = await _poll_and_official()
    ticket = await database_sync_to_async(tickets.issue)(user_id=official.pk, poll_id=poll.pk)
    official.is_active = False
    await database_sync_to_async(official.save)()
    assert not await _connects(poll.pk, query=f"ticket={ticket}")


@ws
@pytest.mark.usefixtures("_fresh_layer")
async def test_a_forged_ticket_for_a_citizen_is_refused():
    """The socket checks who the ticket is for, not only that it exists."""
    poll, _ = await _poll_and_official()
    citizen = await database_sync_to_async(CitizenFactory)()
    ticket = await database_sync_to_async(tickets.issue)(user_id=citizen.pk, poll_id=poll.pk)
    assert not await _connects(poll.pk, query=f"ticket={ticket}")


@ws
@pytest.mark.usefixtures("_fresh_layer")
async def test_a_bad_ticket_does_not_fall_back_to_a_good_cookie_of_a_citizen():
    poll, _ = await _poll_and_official()
    citizen = await database_sync_to_async(CitizenFactory)()
    cookie = await _session_cookie(citizen)
    assert not await _connects(poll.pk, cookie=cookie, query="ticket=garbage")


@ws
@pytest.mark.usefixtures("_fresh_layer")
@pytest.mark.parametrize("cookie", ["garbage", "", "a" * 5_000, "' OR 1=1 --"])
async def test_garbage_session_cookies_are_refused(cookie):
    poll, _ = await _poll_and_official()
    assert not await _connects(poll.pk, cookie=cookie)


@ws
@pytest.mark.usefixtures("_fresh_layer")
async def test_expired_session_cookie_is_refused():
    poll, official = await _poll_and_official()
    assert not await _connects(poll.pk, cookie=await _session_cookie(official, expired=True))


@ws
@pytest.mark.usefixtures("_fresh_layer")
async def test_an_app_session_token_is_not_a_cookie_for_the_socket():
    """A citizen's X-Session-Token put in the cookie opens nothing (citizens have no stream)."""
    poll, _ = await _poll_and_official()
    citizen = await database_sync_to_async(CitizenFactory)()
    token = await database_sync_to_async(make_session_token)(citizen)
    assert not await _connects(poll.pk, cookie=token)
