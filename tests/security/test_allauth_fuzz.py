"""allauth headless, attacked: no passwords or emails for citizens, and no 5xx anywhere.

Attackers: a **citizen** holding only a session token (a stolen one, or their own) who tries to
add a password — phone + password would then log in without SMS, for ever — or an email
address (a second way in; the mail server's failure was a 500 after the row was committed);
and **anyone** sending allauth's endpoints whatever they like.

The fuzzer is schemathesis over allauth's own served specification (``/_allauth/openapi.json``),
in-process over WSGI: every operation, both clients (``app`` with ``X-Session-Token``,
``browser`` with the session cookie and a CSRF pair), anonymously and as a signed-up citizen,
schema-valid and schema-invalid data. Bounded: ``FUZZ_EXAMPLES`` (default 8) per operation,
client and role; ``STRESS=1`` raises it to 100. Each example runs in a rolled-back savepoint.
"""

import os
from contextlib import contextmanager

import pytest
import schemathesis
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis import GenerationMode

from accounts import sms
from accounts.headless_refusals import EMAIL_PATHS, PASSWORD_PATHS
from accounts.models import User
from tests.accounts.test_auth_flows import log_in_by_code
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or (100 if os.environ.get("STRESS") else 8))
PHONE = "+821012345678"
CSRF = "h3fuzzcsrfsecretvalue0123456789a"  # 32 characters: Django's unmasked CSRF secret
CLIENTS = ("app", "browser")
METHODS = ("get", "post", "put", "patch", "delete")

APP = get_wsgi_application()
SPEC = schemathesis.openapi.from_wsgi("/_allauth/openapi.json", APP)
OPERATIONS = {result.ok().label: result.ok() for result in SPEC.get_all_operations() if result.ok()}


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Rate limits live in the cache, which a savepoint does not roll back: without this the
    # fuzzer would spend its examples on 429s (the limits have their own tests).
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture
def citizen_token(db) -> str:
    """A citizen signed in the real way (code by SMS), so allauth's session list has a row."""
    CitizenFactory(phone=PHONE)
    sms.outbox.clear()
    return log_in_by_code(APIClient(), PHONE)


def credentials(client: str, token: str | None) -> dict[str, str]:
    """Headers a client of that kind sends; a CSRF pair for the browser, so its writes reach
    allauth instead of stopping at the CSRF check."""
    headers = {}
    if client == "browser":
        cookies = f"csrftoken={CSRF}"
        if token:
            cookies += f"; {django_settings.SESSION_COOKIE_NAME}={token}"
        headers |= {"Cookie": cookies, "X-CSRFToken": CSRF, "Referer": "http://testserver/"}
    elif token:
        headers["X-Session-Token"] = token
    return headers


# --- Citizens have no passwords and no email addresses -----------------------------------------


def _headers_for(client: str, token: str) -> dict[str, str]:
    return {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in credentials(client, token).items()
        if name != "Cookie"
    }


def _client(kind: str, token: str) -> Client:
    browser = Client()
    if kind == "browser":
        browser.cookies[django_settings.SESSION_COOKIE_NAME] = token
    return browser


BODIES = {
    "auth/login": {"phone": PHONE, "password": "a brand new password 123"},
    "auth/reauthenticate": {"password": "a brand new password 123"},
    "auth/password/request": {"email": "citizen@example.com", "phone": PHONE},
    "auth/password/reset": {"key": "x", "password": "a brand new password 123"},
    "account/password/change": {"new_password": "a brand new password 123"},
    "account/email": {"email": "citizen@example.com"},
    "auth/email/verify": {"key": "x"},
    "auth/email/verify/resend": {},
}


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("path", PASSWORD_PATHS + EMAIL_PATHS)
def test_a_citizen_cannot_set_a_password_or_an_email(kind, path, citizen_token):
    """Promise: with a citizen's session — app token or browser cookie — allauth's password and
    email endpoints refuse with 403 in the project's error shape, whatever the method, and
    nothing changes: no usable password, no email, the session still valid."""
    client = _client(kind, citizen_token)
    url = f"/_allauth/{kind}/v1/{path}"

    for method in METHODS:
        response = getattr(client, method)(
            url, BODIES[path], content_type="application/json", **_headers_for(kind, citizen_token)
        )
        assert response.status_code == 403, (method, response.content)
        body = response.json()
        assert body["code"] in {"passwords_not_available", "emails_not_available"}
        assert body["detail"]

    citizen = User.objects.get(phone=PHONE)
    assert not citizen.has_usable_password()
    assert citizen.email is None
    assert not EmailAddress.objects.exists()
    assert APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=citizen_token).status_code == 200


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_password_planted_in_the_database_does_not_log_in(kind):
    """Attacker: someone who got a password onto a citizen's row (an old release, a careless
    official) and tries phone + password. Refused: only the SMS code logs a citizen in."""
    citizen = CitizenFactory(phone=PHONE)
    citizen.set_password("a brand new password 123")
    citizen.save()

    response = Client().post(
        f"/_allauth/{kind}/v1/auth/login",
        BODIES["auth/login"],
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "passwords_not_available"
    assert "session_token" not in response.content.decode()


def test_the_phone_change_flow_is_not_refused(citizen_token):
    """The citizen's own phone-change flow (allauth's account/phone) stays open."""
    response = APIClient().get("/_allauth/app/v1/account/phone", HTTP_X_SESSION_TOKEN=citizen_token)
    assert response.status_code == 200, response.content


# --- No 5xx: schemathesis over allauth's served specification ---------------------------------


@pytest.fixture
def plain_wsgi_connections():
    """A real WSGI handler closes "old" connections around each request; inside the test's
    transaction that would drop it. Django's own test client disconnects the same signals."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _strategies(operation, client: str):
    pinned = {"client": client} if "{client}" in operation.path else {}
    if "/app/" in operation.path and client != "app":
        return None
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=pinned),
    )


@pytest.mark.parametrize("role", ["anonymous", "citizen"])
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_allauth_never_answers_5xx(label, client, role, citizen_token, plain_wsgi_connections):
    """Promise: no input to any allauth endpoint, from either client, signed in or not, is a
    server error. Attacker: anyone."""
    operation = OPERATIONS[label]
    strategy = _strategies(operation, client)
    if strategy is None:
        pytest.skip("an app-only endpoint")
    headers = credentials(client, citizen_token if role == "citizen" else None)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not os.environ.get("STRESS"),
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        with rolled_back():
            case.call_and_validate(
                headers={**(case.headers or {}), **headers},
                checks=[schemathesis.checks.not_a_server_error],
            )

    run()


def _allauth_paths() -> list[str]:
    paths = {operation.path for operation in OPERATIONS.values()}
    return sorted(path.replace("{client}", client) for path in paths for client in CLIENTS)


@pytest.mark.parametrize("role", ["anonymous", "citizen"])
def test_every_method_on_every_allauth_path_is_not_a_5xx(role, citizen_token):
    """Promise: methods the specification does not list (PUT on a login, DELETE on sign-up,
    OPTIONS, HEAD…) are refused too, never a 500. Attacker: anyone."""
    failures = []
    for path in _allauth_paths():
        kind = "browser" if "/browser/" in path else "app"
        client = Client(raise_request_exception=False)
        headers = _headers_for(kind, citizen_token) if role == "citizen" else {}
        if role == "citizen" and kind == "browser":
            client.cookies[django_settings.SESSION_COOKIE_NAME] = citizen_token
        client.cookies["csrftoken"] = CSRF
        for method in (*METHODS, "options", "head"):
            with rolled_back():
                response = client.generic(
                    method.upper(), path, "{}", content_type="application/json", **headers
                )
            if response.status_code >= 500:
                failures.append((method.upper(), path, response.status_code))
    assert failures == []


# --- What the fuzzer found, pinned ---------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
def test_ending_a_session_with_an_id_past_64_bits_is_a_400(kind, citizen_token):
    """Found by the fuzzer: ``{"sessions": [2**64]}`` reached the database (a 500). Now a 400
    in allauth's shape for that field, and no session ends."""
    client = _client(kind, citizen_token)

    for ids in ([2**64], [-1], [0], [1, 10**30]):
        response = client.delete(
            f"/_allauth/{kind}/v1/auth/sessions",
            {"sessions": ids},
            content_type="application/json",
            **_headers_for(kind, citizen_token),
        )
        assert response.status_code == 400, (ids, response.content)
        assert response.json()["errors"][0]["param"] == "sessions"
    assert APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=citizen_token).status_code == 200


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_other_methods_on_the_phone_endpoint_are_a_405(kind, method):
    """Found by the fuzzer: allauth's ``account/phone`` answered PUT, PATCH, DELETE and OPTIONS
    from an anonymous client with a 500. Now a 405 naming the methods it takes."""
    response = Client().generic(method.upper(), f"/_allauth/{kind}/v1/account/phone", "{}")

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json()["code"] == "method_not_allowed"
