"""Officials' sessions end: after OFFICIAL_SESSION_IDLE_MINUTES (30) without a request, and
OFFICIAL_SESSION_MAX_HOURS (12) after the login (accounts/middleware.py, officials_auth.py).

The attacker: whoever finds an official's browser left open (a shared PC in a district office,
a meeting-room screen) or an old session cookie or app token. The next request after either
limit is logged out: the admin sends it to the login page, JSON endpoints answer 401. Citizens'
sessions are not touched.

Time is moved by the test's ``clock`` (tests/conftest.py): the officials' limits, read from
``time.time()``, and the sessions' own expiry, read from ``timezone.now()``, move together.
"""

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from accounts import officials_auth
from tests.conftest import make_session_token
from tests.factories import CitizenFactory, OfficialFactory, PollFactory

pytestmark = pytest.mark.django_db

MINUTE, HOUR = 60, 3600


@pytest.fixture
def official_browser(client: Client):
    """An official signed in to the admin (password and second factor: tests/conftest.py)."""
    official = OfficialFactory(is_superuser=True)
    client.force_login(official)
    assert client.get("/admin/").status_code == 200  # the session's clocks start
    return client


def logged_out(client: Client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_defaults():
    """30 minutes idle, 12 hours in all, unless the operator sets otherwise."""
    assert settings.OFFICIAL_SESSION_IDLE_MINUTES == 30
    assert settings.OFFICIAL_SESSION_MAX_HOURS == 12


def test_idle_official_is_logged_out_at_the_next_request(official_browser, clock):
    """An admin tab left open over lunch: 31 minutes later the next click finds the login page,
    and the session is gone for good (coming back does not revive it)."""
    clock.advance(31 * MINUTE)
    assert logged_out(official_browser)
    clock.advance(-31 * MINUTE)
    assert logged_out(official_browser)
    assert "_auth_user_id" not in official_browser.session


def test_activity_keeps_the_session_alive_up_to_the_absolute_limit(official_browser, clock):
    """An official at work (a click every 20 minutes) stays in, until 12 hours after the login:
    then even an active session ends."""
    for _ in range(35):  # 11 h 40 min
        clock.advance(20 * MINUTE)
        assert official_browser.get("/admin/").status_code == 200
    clock.advance(20 * MINUTE + 1)  # 12 h 00 min 01 s after the login
    assert logged_out(official_browser)


def test_dashboard_of_an_expired_session_sends_to_the_login(official_browser, clock):
    """The meeting-room dashboard left running overnight: its next page load goes to the
    login page."""
    clock.advance(13 * HOUR)
    response = official_browser.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_expired_browser_session_gets_401_json_from_the_api(official_browser, clock):
    """An expired official's cookie at the officials' API: 401 ``session_expired``, in the
    API's error format, and no ticket."""
    poll = PollFactory()
    clock.advance(31 * MINUTE)
    response = official_browser.post(
        "/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_expired_app_token_of_an_official_dies(clock):
    """An official's app token (session passed the second factor) gets tickets while fresh;
    13 hours after the login it gets 401 ``session_expired``, and is worthless from then on."""
    official = OfficialFactory(is_superuser=True)
    poll = PollFactory()
    app = APIClient()
    app.credentials(HTTP_X_SESSION_TOKEN=make_session_token(official))
    assert app.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json").status_code == 201
    clock.advance(13 * HOUR)
    expired = app.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json")
    assert expired.status_code == 401 and expired.json()["code"] == "session_expired"
    clock.advance(-13 * HOUR)
    again = app.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json")
    assert again.status_code == 401


def test_citizens_sessions_are_not_affected(client, clock):
    """Citizens keep their app token and browser session however long they are idle: the
    officials' limits do not apply to them."""
    citizen = CitizenFactory()
    app = APIClient()
    app.credentials(HTTP_X_SESSION_TOKEN=make_session_token(citizen))
    client.force_login(citizen)
    assert app.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    clock.advance(13 * HOUR)
    assert app.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    assert officials_auth.SESSION_STATE_KEY not in client.session


def test_idle_limit_is_a_setting(official_browser, clock, settings):
    """Operators choose the limits (OFFICIAL_SESSION_IDLE_MINUTES)."""
    settings.OFFICIAL_SESSION_IDLE_MINUTES = 5
    clock.advance(6 * MINUTE)
    assert logged_out(official_browser)


@pytest.mark.django_db(transaction=True)
async def test_the_async_server_path_logs_out_too(async_client, clock):
    """Under daphne the middleware runs on the event loop (its async path): the same limits."""
    from channels.db import database_sync_to_async

    official = await database_sync_to_async(OfficialFactory)(is_superuser=True)
    await async_client.aforce_login(official)
    assert (await async_client.get("/admin/")).status_code == 200
    clock.advance(31 * MINUTE)
    expired = await async_client.get("/admin/")
    assert expired.status_code == 302 and expired["Location"].startswith("/admin/login/")
    api = await async_client.post(
        "/api/v1/ws-tickets/", {"poll": 1}, content_type="application/json"
    )
    assert api.status_code == 401  # logged out: no one is asking
