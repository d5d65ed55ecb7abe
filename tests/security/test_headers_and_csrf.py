"""Security headers, cookies and CSRF (OWASP API8, ASVS V3/V14).

With production settings (a subprocess: ``DEBUG=false``, ``SECRET_KEY``, ``ALLOWED_HOSTS``,
a throw-away SQLite file) every response carries HSTS, nosniff, a referrer policy and
``X-Frame-Options: DENY``; the session cookie is Secure and HttpOnly, the CSRF cookie Secure.
``manage.py check --deploy`` itself is tested in tests/config/test_settings.py, and CSRF on the
ballot endpoint (403 without the token, 201 with it) in tests/voting/test_api_ballots_rules.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from accounts.models import User
from tests.config.production_env import secret_keys
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory, PollFactory
from tests.security.conftest import world_state
from voting import sealing

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client

client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="vote.seoul.go.kr")
out = {}
for path in ("/healthz", "/api/v1/districts/", "/api/v1/nothing-here/",
             "/_allauth/browser/v1/config"):
    response = client.get(path)
    out[path] = {"status": response.status_code, "headers": dict(response.headers)}
csrf = client.cookies["csrftoken"]
# A browser-client code request stores the pending login in the session: a session cookie.
response = client.post(
    "/_allauth/browser/v1/auth/code/request", {"phone": "+821012345678"},
    content_type="application/json", HTTP_X_CSRFTOKEN=csrf.value,
    HTTP_REFERER="https://vote.seoul.go.kr/",
)
out["code_request"] = {"status": response.status_code}
out["cookies"] = {
    name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]),
           "samesite": m["samesite"]}
    for name, m in client.cookies.items()
}
plain = Client(HTTP_HOST="vote.seoul.go.kr").get("/api/v1/districts/")
out["plain_http"] = {"status": plain.status_code, "location": plain.headers.get("Location")}
print("PROBE" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("production")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}
        and not key.startswith(("BALLOT_", "BOARD_"))
    }
    keys = sealing.new_key_set()
    env.update(
        DEBUG="false",
        # A web process's keys: the public halves only, as production gives them.
        BALLOT_SEALING_PUBLIC_KEY=keys["BALLOT_SEALING_PUBLIC_KEY"],
        BOARD_VERIFY_KEY=keys["BOARD_VERIFY_KEY"],
        SECRET_KEY="a-long-random-production-secret-" + "k" * 40,
        ALLOWED_HOSTS="vote.seoul.go.kr",
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        STATIC_ROOT=str(workdir / "static"),
        SMS_BACKEND="accounts.sms.InMemorySMSBackend",
        DJANGO_SETTINGS_MODULE="config.settings",
        **secret_keys(),
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("PROBE")), None)
    assert line, result.stdout[-2000:] + result.stderr[-3000:]
    return json.loads(line.removeprefix("PROBE"))


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/api/v1/districts/", "/api/v1/nothing-here/", "/_allauth/browser/v1/config"],
)
def test_production_responses_carry_the_security_headers(production, path):
    headers = production[path]["headers"]
    hsts = headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Type"].startswith("application/json")


def test_production_cookies_are_secure(production):
    assert production["code_request"]["status"] == 401  # pending login_by_code flow
    cookies = production["cookies"]
    assert cookies["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    # Secure, and readable by the browser client's script on purpose: it sends the value back
    # in X-CSRFToken (Django's documented pattern; HttpOnly would break the SPA, not help it).
    assert cookies["csrftoken"]["secure"] is True
    assert cookies["csrftoken"]["samesite"] == "Lax"


def test_production_redirects_plain_http_to_https(production):
    assert production["plain_http"]["status"] == 301
    assert production["plain_http"]["location"].startswith("https://vote.seoul.go.kr/")


# --- CSRF on the browser flows -------------------------------------------------------------------


def _browser(user=None) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def _with_csrf(client: APIClient) -> dict:
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return {"HTTP_X_CSRFTOKEN": token}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body", "who", "answer"),
    [
        ("delete", "/api/v1/me/", None, "citizen", 204),
        ("patch", "/api/v1/me/", {"gender": "male"}, "citizen", 200),
        ("post", "/api/v1/me/groups/", "group", "citizen", 201),
        ("post", "/api/v1/ws-tickets/", "poll", "official", 201),
    ],
)
def test_cookie_sessions_need_the_csrf_token(method, path, body, who, answer):
    user = CitizenFactory() if who == "citizen" else OfficialFactory(role="official")
    if body == "group":
        body = {"group": GroupFactory().pk}
    elif body == "poll":
        body = {"poll": PollFactory().pk}
    client = _browser(user)
    before = world_state()
    gender = User.objects.get(pk=user.pk).gender

    refused = getattr(client, method)(path, body, format="json")

    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert world_state() == before
    assert User.objects.get(pk=user.pk).gender == gender

    accepted = getattr(client, method)(path, body, format="json", **_with_csrf(client))
    assert accepted.status_code == answer, accepted.content


@pytest.mark.django_db
def test_a_wrong_csrf_token_is_refused():
    poll = PollFactory()
    client = _browser(CitizenFactory())
    client.cookies["csrftoken"] = _get_new_csrf_string()

    response = client.post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [poll.options.first().pk]},
        format="json",
        HTTP_X_CSRFTOKEN=_get_new_csrf_string(),
    )

    assert response.status_code == 403
    assert world_state()[:2] == (0, 0)


@pytest.mark.django_db
def test_allauth_browser_endpoints_need_the_csrf_token():
    """Django's middleware guards allauth's browser client; its refusal is the API's JSON."""
    CitizenFactory(phone="+821012345678")
    client = _browser()

    refused = client.post(
        "/_allauth/browser/v1/auth/code/request", {"phone": "+821012345678"}, format="json"
    )

    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("application/json")
    assert refused.json()["code"] == "permission_denied"
    from accounts import sms

    assert sms.outbox == []  # no text sent for a forged request

    accepted = client.post(
        "/_allauth/browser/v1/auth/code/request",
        {"phone": "+821012345678"},
        format="json",
        **_with_csrf(client),
    )
    assert accepted.status_code == 401  # pending login_by_code flow
    assert len(sms.outbox) == 1


@pytest.mark.django_db
def test_browser_logout_needs_the_csrf_token():
    citizen = CitizenFactory()
    client = _browser(citizen)

    refused = client.delete("/_allauth/browser/v1/auth/session")

    assert refused.status_code == 403
    assert client.get("/api/v1/me/").json()["id"] == citizen.pk  # still logged in


@pytest.mark.django_db
def test_unknown_api_urls_are_404_for_every_method():
    """Not a CSRF page: an unknown URL changes nothing, whatever the method."""
    client = _browser(CitizenFactory())
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/me/groups/is_staff/")
        assert response.status_code == 404, method
        assert response.json()["code"] == "not_found"
