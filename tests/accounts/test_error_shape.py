"""The app developer's one error rule (issue 17), relied on across both halves of the service.

An app codes this once: every answer with a status >= 400 — allauth's /_allauth/ endpoints and
the project's /api/v1/ alike — is a JSON object with ``code`` (stable snake_case) and ``detail``
(text in the request's Accept-Language, Korean first), plus ``fields`` for per-field input
errors; allauth's own keys (``status``, ``errors``, ``data.flows``, ``meta``) stay for allauth's
client libraries; every 429 says how long to wait in a numeric ``Retry-After``; 2xx answers are
allauth's as they were. Everything here runs through the real views, limits and cache.
"""

import re

import pytest
import yaml
from django.test import AsyncClient, Client
from rest_framework.test import APIClient

from accounts import sms
from accounts.headless_errors import FALLBACK_RETRY_AFTER_SECONDS
from accounts.headless_spec import RATE_LIMITED_OPERATIONS
from tests.accounts.test_auth_flows import (
    BASE,
    CODE_CONFIRM,
    CODE_REQUEST,
    PHONE,
    SESSION,
    SIGNUP,
    VERIFY_PHONE,
    last_code,
    post,
    sign_up,
)
from tests.accounts.test_official_mfa import code_now, code_step, enrolled, password_step
from tests.discussion.test_api import post as post_comment
from tests.factories import CitizenFactory, PollFactory

pytestmark = pytest.mark.django_db

HANGUL = re.compile(r"[\uac00-\ud7a3]")
PHONE_BOOK = f"{BASE}/account/phone"


def app(language: str = "ko") -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE=language)


def assert_error_rule(response, status: int, code: str, language: str = "ko") -> dict:
    """The rule every error answer keeps; returns the body for the test's own checks."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["code"])
    assert isinstance(body["detail"], str) and body["detail"].strip()
    if language == "ko":
        assert HANGUL.search(body["detail"]), body["detail"]
    else:
        assert not HANGUL.search(body["detail"]), body["detail"]
    if status == 429:
        assert int(response["Retry-After"]) >= 1
    return body


def retry_after(response) -> int:
    value = response["Retry-After"]
    assert re.fullmatch(r"\d+", value), value
    return int(value)


# --- allauth's input errors: its keys, and the API's ---------------------------------------------


@pytest.mark.parametrize("language", ["ko", "en"])
def test_an_invalid_phone_is_an_input_error_in_both_shapes(language):
    response = post(app(language), SIGNUP, {"phone": "12345"})

    body = assert_error_rule(response, 400, "invalid_phone", language)
    assert body["fields"] == {"phone": [body["detail"]]}
    # allauth's keys, as its client libraries read them.
    assert body["status"] == 400
    assert body["errors"] == [
        {"message": body["detail"], "code": "invalid_phone", "param": "phone"}
    ]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_wrong_code_says_incorrect_code(language):
    client = app(language)
    token = post(client, SIGNUP, {"phone": PHONE}).json()["meta"]["session_token"]
    wrong = "000000" if last_code(PHONE) != "000000" else "111111"

    response = post(client, VERIFY_PHONE, {"code": wrong}, token)

    body = assert_error_rule(response, 400, "incorrect_code", language)
    assert body["fields"] == {"code": [body["detail"]]}
    assert body["errors"][0]["code"] == "incorrect_code"


@pytest.mark.parametrize("language", ["ko", "en"])
def test_too_many_wrong_codes_end_the_flow_and_say_so(language):
    CitizenFactory(phone=PHONE)
    client = app(language)
    token = post(client, CODE_REQUEST, {"phone": PHONE}).json()["meta"]["session_token"]
    code = last_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert post(client, CODE_CONFIRM, {"code": wrong}, token).status_code == 400

    response = post(client, CODE_CONFIRM, {"code": code}, token)

    body = assert_error_rule(response, 409, "flow_not_pending", language)
    assert body["status"] == 409


# --- allauth's flow answers: 401 and 410 ----------------------------------------------------------


@pytest.mark.parametrize("language", ["ko", "en"])
def test_reading_the_session_unauthenticated_is_authentication_required(language):
    response = app(language).get(SESSION)

    body = assert_error_rule(response, 401, "authentication_required", language)
    assert body["status"] == 401
    assert body["meta"]["is_authenticated"] is False
    assert {"id": "login_by_code"} in body["data"]["flows"]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_pending_code_is_verification_pending_with_the_flow_still_there(language):
    response = post(app(language), CODE_REQUEST, {"phone": PHONE})

    body = assert_error_rule(response, 401, "verification_pending", language)
    assert {"id": "login_by_code", "is_pending": True} in body["data"]["flows"]
    assert body["meta"]["session_token"]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_dead_session_token_is_the_same_error_as_under_the_api(language):
    client = app(language)
    token = sign_up(client)
    assert client.delete(SESSION, HTTP_X_SESSION_TOKEN=token).status_code == 401

    for dead in (token, "no-such-token"):
        response = client.get(SESSION, HTTP_X_SESSION_TOKEN=dead)

        body = assert_error_rule(response, 410, "invalid_session_token", language)
        assert body["status"] == 410
        api = client.get("/api/v1/me/", HTTP_X_SESSION_TOKEN=dead)
        assert_error_rule(api, 401, "invalid_session_token", language)
        assert api.json()["detail"] == body["detail"]


# --- The project's refusals under /_allauth/: its keys, and allauth's -----------------------------


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_refused_endpoint_answers_the_rule_and_allauths_status(language):
    response = post(app(language), f"{BASE}/auth/login", {"phone": PHONE, "password": "x"})

    body = assert_error_rule(response, 403, "passwords_not_available", language)
    assert body["status"] == 403
    assert body["errors"] == [{"code": "passwords_not_available", "message": body["detail"]}]


def test_a_browser_write_without_csrf_answers_the_rule():
    browser = APIClient(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")

    response = browser.post(
        "/_allauth/browser/v1/auth/code/request", {"phone": PHONE}, format="json"
    )

    body = assert_error_rule(response, 403, "permission_denied", "en")
    assert body["status"] == 403
    assert sms.outbox == []


def test_an_unknown_allauth_path_answers_the_rule():
    body = assert_error_rule(app("en").get(f"{BASE}/no/such/endpoint"), 404, "not_found", "en")
    assert body["status"] == 404


# --- 429: Retry-After, the real time left ---------------------------------------------------------


@pytest.mark.parametrize("language", ["ko", "en"])
def test_code_requests_past_the_limit_say_when_the_window_frees(clock, language):
    """3 code requests per number per 10 minutes: 100 s after the first, the fourth is told to
    wait the 500 s left of that window, not a guess."""
    post(app(), CODE_REQUEST, {"phone": PHONE})
    clock.advance(100)
    for _ in range(2):
        post(app(), CODE_REQUEST, {"phone": PHONE})

    response = post(app(language), CODE_REQUEST, {"phone": PHONE})

    body = assert_error_rule(response, 429, "throttled", language)
    assert retry_after(response) == 500
    assert body["status"] == 429
    assert str(retry_after(response)) in body["detail"]

    clock.advance(499)
    assert retry_after(post(app(), CODE_REQUEST, {"phone": PHONE})) == 1
    clock.advance(1)
    assert post(app(), CODE_REQUEST, {"phone": PHONE}).status_code == 401


def test_a_second_signup_within_30_seconds_waits_out_the_rest(clock):
    post(app(), SIGNUP, {"phone": PHONE})
    clock.advance(12)

    response = post(app(), SIGNUP, {"phone": PHONE})

    assert_error_rule(response, 429, "throttled")
    assert retry_after(response) == 18


def test_allauths_own_429_gets_retry_after_too(clock):
    """Changing the phone number: allauth's "1/m/user" limit, answered by allauth's own view."""
    client = app("en")
    token = sign_up(client)
    assert post(client, PHONE_BOOK, {"phone": "+821055551111"}, token).status_code == 202
    clock.advance(20)

    response = post(client, PHONE_BOOK, {"phone": "+821055552222"}, token)

    body = assert_error_rule(response, 429, "throttled", "en")
    assert retry_after(response) == 40
    assert body["status"] == 429


def test_the_sms_budget_429_has_its_own_window(window_clock, settings):
    settings.SMS_BUDGET_PER_NUMBER = "1/h"
    assert post(app(), CODE_REQUEST, {"phone": PHONE}).status_code == 401

    response = post(APIClient(REMOTE_ADDR="198.51.100.7"), CODE_REQUEST, {"phone": PHONE})

    body = assert_error_rule(response, 429, "throttled")
    assert retry_after(response) == 3600  # the clock is half a second into the hour
    assert body["status"] == 429


def test_the_api_throttles_answer_the_rule_with_retry_after(citizen_api, settings):
    settings.COMMENT_THROTTLE = "1/min,50/day"
    poll = PollFactory()
    assert post_comment(citizen_api, poll.pk).status_code == 201

    citizen_api.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = post_comment(citizen_api, poll.pk)

    assert_error_rule(response, 429, "throttled", "en")
    assert 1 <= retry_after(response) <= 60


def test_guessing_an_officials_code_is_told_when_to_come_back():
    official, secret, _codes = enrolled()
    attacker = Client()
    password_step(attacker, official)
    right = code_now(secret, margin=10)
    for guess in [f"{n:06d}" for n in range(6) if f"{n:06d}" != right][:5]:
        code_step(attacker, guess)

    refused = code_step(attacker, right)

    assert refused.status_code == 429
    # The rest of allauth's "5 per 5 minutes" window for this official, not the fallback.
    assert 250 < retry_after(refused) <= 300
    assert retry_after(refused) != FALLBACK_RETRY_AFTER_SECONDS


# --- The API half keeps the same rule -------------------------------------------------------------


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_api_answers_the_same_rule(language):
    response = app(language).get("/api/v1/me/")

    assert_error_rule(response, 401, "authentication_required", language)


# --- 2xx answers are untouched --------------------------------------------------------------


def test_successful_answers_are_allauths_own():
    CitizenFactory(phone=PHONE)
    client = app()
    token = post(client, CODE_REQUEST, {"phone": PHONE}).json()["meta"]["session_token"]

    confirmed = post(client, CODE_CONFIRM, {"code": last_code(PHONE)}, token)
    session = client.get(SESSION, HTTP_X_SESSION_TOKEN=confirmed.json()["meta"]["session_token"])

    for response in (confirmed, session):
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"status", "data", "meta"}
        assert body["status"] == 200
        assert "code" not in body and "detail" not in body
    assert "Retry-After" not in session


# --- allauth's served specification documents all of this ----------------------------------------


def test_the_served_spec_lists_429_with_retry_after_for_rate_limited_operations():
    spec = APIClient().get("/_allauth/openapi.json").json()
    paths = spec["paths"]

    for method, suffix in RATE_LIMITED_OPERATIONS:
        matching = [item for key, item in paths.items() if key.endswith(f"/v1/{suffix}")]
        assert matching, suffix  # the operation exists in allauth's spec
        for item in matching:
            assert item[method]["responses"]["429"] == {
                "$ref": "#/components/responses/TooManyRequests"
            }
    too_many = spec["components"]["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]
    schema = too_many["content"]["application/json"]["schema"]
    assert {"status", "code", "detail"} <= set(schema["required"])


def test_the_served_spec_documents_code_and_detail_on_error_bodies():
    spec = APIClient().get("/_allauth/openapi.json").json()
    schemas = spec["components"]["schemas"]

    for name in (
        "ErrorResponse",
        "AuthenticationResponse",
        "ConflictResponse",
        "ForbiddenResponse",
        "SessionGoneResponse",
    ):
        assert {"code", "detail"} <= set(schemas[name]["required"]), name
        assert schemas[name]["properties"]["code"]["type"] == "string"
    assert "fields" in schemas["ErrorResponse"]["properties"]
    # Success bodies are not error bodies.
    assert "code" not in schemas["AuthenticatedResponse"].get("properties", {})
    assert "## Errors" in spec["info"]["description"]


def test_the_yaml_and_html_spec_agree():
    as_json = APIClient().get("/_allauth/openapi.json").json()
    as_yaml = yaml.safe_load(APIClient().get("/_allauth/openapi.yaml").content)

    assert as_yaml == as_json
    page = APIClient().get("/_allauth/openapi.html")
    assert page.status_code == 200
    assert b"/_allauth/openapi.json" in page.content


async def test_the_rule_holds_when_served_over_asgi():
    """daphne runs the middleware chain async: the same answer as over WSGI."""
    response = await AsyncClient().get(SESSION, headers={"Accept-Language": "en"})

    body = assert_error_rule(response, 401, "authentication_required", "en")
    assert body["status"] == 401
