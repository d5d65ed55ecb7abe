"""The app-token fast lane (config/middleware.py LeanApiRouter): what it skips, what it keeps.

The attacker holds an official's session cookie (a shared PC, a leaked HAR file) and talks to
the API. Through the lane (an ``X-Session-Token`` request) the cookie is ignored: no cookie
powers, and the official's session clock is not touched. Without a token the request takes the
full chain: cookie authentication still needs the CSRF token. Every response keeps the security
headers and the language the client asked for.
"""

import pytest
from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from accounts.officials_auth import SESSION_STATE_KEY
from tests.conftest import make_session_token
from tests.factories import CitizenFactory, OfficialFactory, PollFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def official_browser() -> Client:
    """An official signed in to the admin, second factor passed; CSRF checked as a browser's."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(OfficialFactory(is_superuser=True))
    assert client.get("/admin/").status_code == 200  # the session's clocks start
    return client


def test_the_middleware_is_routed_in_order():
    # Request id and metrics cover both lanes (core/observability.py); security headers are set
    # above the router; the router hands to the bottom marker.
    assert settings.MIDDLEWARE[0] == "core.observability.ObservabilityMiddleware"
    assert settings.MIDDLEWARE[1] == "django.middleware.security.SecurityMiddleware"
    assert settings.MIDDLEWARE[2] == "config.middleware.LeanApiRouter"
    assert settings.MIDDLEWARE[-1] == "config.middleware.LeanApiBottom"


def test_token_requests_skip_the_cookie_machinery(citizen_api):
    response = citizen_api.get("/api/v1/me/")
    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert (
        "csrftoken" not in response.cookies and settings.SESSION_COOKIE_NAME not in response.cookies
    )


def test_cookie_requests_take_the_full_chain(official_browser):
    response = official_browser.get("/api/v1/me/")
    assert response.status_code == 200
    assert hasattr(response.wsgi_request, "session")


def test_cookie_post_without_csrf_token_is_refused(official_browser):
    poll = PollFactory()
    refused = official_browser.post(
        "/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert "CSRF" in refused.json()["detail"]
    token = _get_new_csrf_string()
    official_browser.cookies["csrftoken"] = token
    allowed = official_browser.post(
        "/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )  # fmt: skip
    assert allowed.status_code == 201


def test_a_token_next_to_a_stolen_official_cookie_gets_no_cookie_powers(official_browser, clock):
    citizen = CitizenFactory()
    poll = PollFactory()
    cookie = official_browser.cookies[settings.SESSION_COOKIE_NAME].value
    session = official_browser.session
    clock_before = session[SESSION_STATE_KEY]
    clock.advance(60)
    attacker = Client(enforce_csrf_checks=True)
    attacker.cookies[settings.SESSION_COOKIE_NAME] = cookie

    # A citizen's valid token: the request is the citizen's, never the official's.
    token = make_session_token(citizen)
    me = attacker.get("/api/v1/me/", HTTP_X_SESSION_TOKEN=token)
    assert me.status_code == 200 and me.json()["id"] == citizen.pk
    ticket = attacker.post(
        "/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
    )  # fmt: skip
    assert ticket.status_code == 403

    # A garbage or empty token does not fall back to the cookie either.
    for bad in ("garbage", ""):
        response = attacker.post(
            "/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json",
            HTTP_X_SESSION_TOKEN=bad,
        )  # fmt: skip
        assert response.status_code == 401, bad

    # The official's session clock was not moved by any of these requests.
    official_browser.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert official_browser.session[SESSION_STATE_KEY] == clock_before


@pytest.mark.parametrize("token", [True, False])
def test_security_headers_on_both_lanes(client, citizen, token):
    headers = {"HTTP_X_SESSION_TOKEN": make_session_token(citizen)} if token else {}
    response = client.get("/api/v1/polls/", **headers)
    assert response.status_code == (200 if token else 401)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Accept-Language" in response["Vary"]


@pytest.mark.parametrize(("language", "expected"), [("en", "en"), ("ko", "ko")])
def test_accept_language_on_the_lane(client, language, expected):
    response = client.get(
        "/api/v1/polls/", HTTP_X_SESSION_TOKEN="garbage", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 401
    assert response["Content-Language"] == expected
    detail = response.json()["detail"]
    if expected == "en":
        assert detail == "The session token is invalid or expired."
    else:
        assert detail != "The session token is invalid or expired." and detail.isascii() is False


@pytest.mark.parametrize(
    "path", ["/api/v1/polls", "/api/v1/polls/", "/api/v1/nothing-here/", "/api/v1/me/"]
)
def test_the_lane_answers_as_the_full_chain(settings, citizen, path):
    token = make_session_token(citizen)
    rid = "lane-comparison-id"  # the same id both times: the answers must be byte-identical

    def answer():
        response = Client().get(
            path, HTTP_X_SESSION_TOKEN=token, HTTP_ACCEPT_LANGUAGE="en", HTTP_X_REQUEST_ID=rid
        )
        return response.status_code, dict(response.headers), response.content

    lean = answer()
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if "LeanApi" not in name]
    assert answer() == lean


def test_unknown_api_path_is_a_json_404_on_the_lane(citizen_api):
    response = citizen_api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_paths_outside_the_prefix_take_the_full_chain(client, citizen):
    response = client.get("/healthz", HTTP_X_SESSION_TOKEN=make_session_token(citizen))
    assert hasattr(response.wsgi_request, "session")
