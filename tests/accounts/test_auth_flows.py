"""Phone-first sign-up and login, end to end through allauth headless's HTTP API.

Codes are read the way a citizen reads them: from the text message (``accounts.sms.outbox``).
"""

import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts import sms
from accounts.models import Verification
from districts.models import Group, GroupMembership, PendingGroupMember
from tests.factories import CitizenFactory, OfficialFactory

pytestmark = pytest.mark.django_db

User = get_user_model()

BASE = "/_allauth/app/v1"
SIGNUP = f"{BASE}/auth/signup"
VERIFY_PHONE = f"{BASE}/auth/phone/verify"
CODE_REQUEST = f"{BASE}/auth/code/request"
CODE_CONFIRM = f"{BASE}/auth/code/confirm"
SESSION = f"{BASE}/auth/session"
SESSIONS = f"{BASE}/auth/sessions"

PHONE = "+821012345678"

# allauth's user codes (allauth.core.internal.cryptokit.generate_user_code): digits, or letters
# from BCDFGHJKLMNPQRSTVWXZ, optionally in dash-separated chunks. Settings make them 6 digits.
_CODE = re.compile(r"(?<![\w-])([0-9BCDFGHJKLMNPQRSTVWXZ]{3,}(?:-[0-9BCDFGHJKLMNPQRSTVWXZ]{3,})*)")


def code_in(body: str) -> str | None:
    match = _CODE.search(body)
    return match.group(1) if match else None


def texts_to(phone: str) -> list[str]:
    return [message.body for message in sms.outbox if message.to == phone]


def last_code(phone: str) -> str:
    texts = texts_to(phone)
    assert texts, f"no SMS sent to {phone}"
    code = code_in(texts[-1])
    assert code, f"no code in {texts[-1]!r}"
    return code


def post(client: APIClient, url: str, data: dict | None = None, token: str | None = None):
    headers = {"HTTP_X_SESSION_TOKEN": token} if token else {}
    return client.post(url, data or {}, format="json", **headers)


def pending_flow(response) -> str | None:
    flows = response.json()["data"]["flows"]
    return next((flow["id"] for flow in flows if flow.get("is_pending")), None)


def sign_up(client: APIClient, phone: str = PHONE) -> str:
    """Sign up and verify ``phone``; return the authenticated session token."""
    response = post(client, SIGNUP, {"phone": phone})
    assert response.status_code == 401, response.content
    token = response.json()["meta"]["session_token"]
    response = post(client, VERIFY_PHONE, {"code": last_code(phone)}, token)
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


def log_in_by_code(client: APIClient, phone: str) -> str:
    response = post(client, CODE_REQUEST, {"phone": phone})
    assert response.status_code == 401, response.content
    token = response.json()["meta"]["session_token"]
    response = post(client, CODE_CONFIRM, {"code": last_code(phone)}, token)
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


# --- Sign-up -----------------------------------------------------------------------------------


def test_signup_by_phone_then_verify_logs_in():
    client = APIClient()

    response = post(client, SIGNUP, {"phone": PHONE})

    assert response.status_code == 401
    body = response.json()
    assert pending_flow(response) == "verify_phone"
    assert body["meta"]["is_authenticated"] is False
    token = body["meta"]["session_token"]
    assert len(sms.outbox) == 1
    assert sms.outbox[0].to == PHONE
    code = last_code(PHONE)
    assert re.fullmatch(r"\d{6}", code)
    user = User.objects.get(phone=PHONE)
    assert not user.phone_verified
    assert user.verification == Verification.UNVERIFIED

    response = post(client, VERIFY_PHONE, {"code": code}, token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    session_token = body["meta"]["session_token"]
    response = APIClient().get(SESSION, HTTP_X_SESSION_TOKEN=session_token)
    assert response.status_code == 200
    assert response.json()["data"]["user"]["id"] == user.pk
    user.refresh_from_db()
    assert user.phone_verified
    assert user.verification == Verification.PHONE
    # Citizens have neither a username nor a password: the phone is how they log in.
    assert user.username is None
    assert not user.has_usable_password()


@pytest.mark.parametrize("typed", ["010-1234-5678", "01012345678", "+82 10 1234 5678"])
def test_signup_normalises_korean_domestic_numbers(typed):
    client = APIClient()

    response = post(client, SIGNUP, {"phone": typed})

    assert response.status_code == 401, response.content
    assert User.objects.get().phone == PHONE
    assert [message.to for message in sms.outbox] == [PHONE]


@pytest.mark.parametrize(
    "typed",
    [
        "12345",
        "not a number",
        "02-123-4567",  # a Seoul landline: it cannot receive the code
        "+8210",
        "010-1234-56789012",
    ],
)
def test_signup_refuses_invalid_phone(typed):
    response = post(APIClient(), SIGNUP, {"phone": typed})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["param"] == "phone"
    assert error["code"] == "invalid_phone"
    assert not User.objects.exists()
    assert sms.outbox == []


def test_signup_ignores_privilege_fields():
    client = APIClient()
    response = post(
        client,
        SIGNUP,
        {
            "phone": PHONE,
            "is_staff": True,
            "is_superuser": True,
            "verification": Verification.RESIDENT,
            "phone_verified": True,
            "username": "admin",
            "password": "correct horse battery staple",
        },
    )
    assert response.status_code == 401, response.content

    user = User.objects.get(phone=PHONE)
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.phone_verified
    assert user.verification == Verification.UNVERIFIED
    assert user.username is None
    assert not user.has_usable_password()


def test_wrong_codes_then_the_flow_is_gone():
    client = APIClient()
    response = post(client, SIGNUP, {"phone": PHONE})
    token = response.json()["meta"]["session_token"]
    code = last_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"

    for _attempt in range(3):  # ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS
        response = post(client, VERIFY_PHONE, {"code": wrong}, token)
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "incorrect_code"

    # Even the right code is too late: the flow was dropped after the last failed attempt.
    response = post(client, VERIFY_PHONE, {"code": code}, token)
    assert response.status_code == 409
    user = User.objects.get(phone=PHONE)
    assert not user.phone_verified
    assert user.verification == Verification.UNVERIFIED


def test_signup_with_registered_phone_does_not_reveal_it():
    CitizenFactory(phone=PHONE)
    new_phone = "+821099998888"

    known = post(APIClient(), SIGNUP, {"phone": PHONE})
    unknown = post(APIClient(), SIGNUP, {"phone": new_phone})

    # Same status, same shape: a pending phone verification either way.
    assert known.status_code == unknown.status_code == 401
    assert known.json()["data"] == unknown.json()["data"]
    assert known.json()["meta"].keys() == unknown.json()["meta"].keys()
    assert pending_flow(known) == "verify_phone"
    # No second account; the owner is told someone tried, and gets no code.
    assert User.objects.filter(phone=PHONE).count() == 1
    [owner_text] = texts_to(PHONE)
    assert code_in(owner_text) is None
    assert "이미 계정이 있는" in owner_text  # Korean by default
    # Nothing can be verified in the fake flow.
    token = known.json()["meta"]["session_token"]
    response = post(APIClient(), VERIFY_PHONE, {"code": "123456"}, token)
    assert response.status_code == 400


def test_second_signup_attempt_for_one_phone_is_rate_limited():
    post(APIClient(), SIGNUP, {"phone": PHONE})

    # allauth texts at most one code per number per 30 s ("verify_phone": "1/30s/key").
    response = post(APIClient(), SIGNUP, {"phone": "010-1234-5678"})

    assert response.status_code == 429
    assert len(sms.outbox) == 1


def test_verifying_phone_claims_pending_group_places():
    group = Group.objects.create(name="버스 이용자", kind=Group.Kind.MANAGED)
    PendingGroupMember.objects.create(group=group, phone=PHONE)
    client = APIClient()

    response = post(client, SIGNUP, {"phone": "010-1234-5678"})
    # Not yet: only the holder of the number, proved by the code, may take its place.
    assert not GroupMembership.objects.exists()

    token = response.json()["meta"]["session_token"]
    response = post(client, VERIFY_PHONE, {"code": last_code(PHONE)}, token)

    assert response.status_code == 200
    user = User.objects.get(phone=PHONE)
    assert GroupMembership.objects.filter(group=group, user=user).exists()
    assert not PendingGroupMember.objects.exists()


# --- Login by code -----------------------------------------------------------------------------


def test_code_login_for_existing_citizen():
    citizen = CitizenFactory(phone=PHONE)
    client = APIClient()

    response = post(client, CODE_REQUEST, {"phone": "010-1234-5678"})

    assert response.status_code == 401
    assert pending_flow(response) == "login_by_code"
    token = response.json()["meta"]["session_token"]
    response = post(client, CODE_CONFIRM, {"code": last_code(PHONE)}, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    assert body["data"]["user"]["id"] == citizen.pk
    response = APIClient().get(SESSION, HTTP_X_SESSION_TOKEN=body["meta"]["session_token"])
    assert response.status_code == 200


def test_code_login_verifies_an_abandoned_signup():
    # Someone signed up but never entered the code; a later code login proves the number.
    post(APIClient(), SIGNUP, {"phone": PHONE})

    log_in_by_code(APIClient(), PHONE)

    user = User.objects.get(phone=PHONE)
    assert user.phone_verified
    assert user.verification == Verification.PHONE


def test_code_login_never_lowers_resident_verification():
    citizen = CitizenFactory(phone=PHONE, verification=Verification.RESIDENT)

    log_in_by_code(APIClient(), PHONE)

    citizen.refresh_from_db()
    assert citizen.verification == Verification.RESIDENT


def test_wrong_login_codes_end_the_flow():
    CitizenFactory(phone=PHONE)
    client = APIClient()
    response = post(client, CODE_REQUEST, {"phone": PHONE})
    token = response.json()["meta"]["session_token"]
    code = last_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"

    statuses = [post(client, CODE_CONFIRM, {"code": wrong}, token).status_code for _ in range(3)]

    assert statuses == [400, 400, 400]
    assert post(client, CODE_CONFIRM, {"code": code}, token).status_code == 409


def test_code_request_for_unknown_phone_answers_like_a_known_one():
    CitizenFactory(phone=PHONE)
    unknown_phone = "+821099998888"

    known = post(APIClient(), CODE_REQUEST, {"phone": PHONE})
    unknown = post(APIClient(), CODE_REQUEST, {"phone": unknown_phone})

    assert known.status_code == unknown.status_code == 401
    assert known.json()["data"] == unknown.json()["data"]
    assert known.json()["meta"].keys() == unknown.json()["meta"].keys()
    assert pending_flow(unknown) == "login_by_code"
    # The unknown number gets allauth's "no account" text (it asked, it may sign up), no code.
    assert code_in(texts_to(PHONE)[-1])
    [unknown_text] = texts_to(unknown_phone)
    assert code_in(unknown_text) is None
    assert "가입된 계정이 없습니다" in unknown_text  # Korean by default
    # And no code opens the fake flow; a wrong code fails as it would for a real one.
    token = unknown.json()["meta"]["session_token"]
    response = post(APIClient(), CODE_CONFIRM, {"code": "123456"}, token)
    assert response.status_code == 400
    assert not User.objects.filter(phone=unknown_phone).exists()


def test_code_requests_for_one_phone_are_rate_limited():
    CitizenFactory(phone=PHONE)

    # "request_login_code": "...,3/10m/key,...": three texts per number per ten minutes.
    statuses = [post(APIClient(), CODE_REQUEST, {"phone": PHONE}).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    assert len(texts_to(PHONE)) == 3


def test_code_requests_for_unknown_phone_are_rate_limited_alike():
    statuses = [post(APIClient(), CODE_REQUEST, {"phone": PHONE}).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_code_requests_from_one_ip_are_rate_limited():
    # "10/m/ip": one address cannot text its way through a list of numbers.
    statuses = [
        post(APIClient(), CODE_REQUEST, {"phone": f"+8210555500{n:02d}"}).status_code
        for n in range(11)
    ]

    assert statuses == [401] * 10 + [429]
    assert len(sms.outbox) == 10


# --- Sessions ----------------------------------------------------------------------------------


def test_logout_ends_the_session_token():
    CitizenFactory(phone=PHONE)
    token = log_in_by_code(APIClient(), PHONE)
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    assert client.get(SESSION).status_code == 200

    response = client.delete(SESSION)

    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False
    # allauth answers a dead session token with 410 Gone: the app drops it and logs in again.
    assert client.get(SESSION).status_code == 410


@pytest.mark.skipif(
    not apps.is_installed("allauth.usersessions"),
    reason="session listing needs allauth.usersessions in INSTALLED_APPS",
)
def test_sessions_listing():
    CitizenFactory(phone=PHONE)
    first = log_in_by_code(APIClient(), PHONE)
    sms.outbox.clear()
    log_in_by_code(APIClient(), PHONE)

    response = APIClient().get(SESSIONS, HTTP_X_SESSION_TOKEN=first)

    assert response.status_code == 200, response.content
    sessions = response.json()["data"]
    assert len(sessions) == 2
    assert sum(1 for session in sessions if session["is_current"]) == 1


# --- OpenAPI specification ---------------------------------------------------------------------


def test_allauth_openapi_spec_is_served():
    response = APIClient().get("/_allauth/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("auth/signup", "auth/phone/verify", "auth/code/request", "auth/code/confirm"):
        assert f"/_allauth/{{client}}/v1/{path}" in paths


def test_allauth_openapi_page_works_offline():
    response = APIClient().get("/_allauth/openapi.html")

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html
    assert "cdn." not in html
    assert "/_allauth/openapi.json" in html


# --- Officials: the Django admin ---------------------------------------------------------------


@pytest.mark.parametrize("login_with", ["username", "email"])
def test_admin_login_by_username_or_email(client, login_with):
    """Username or email, and the password; then the second factor (a first login enrols an
    authenticator app: tests/accounts/test_official_mfa.py), and the admin opens."""
    from tests.accounts.test_official_mfa import code_now

    official = OfficialFactory()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": getattr(official, login_with), "password": "correct horse battery staple"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/second-factor/?next=%2Fadmin%2F"
    secret = client.get(response["Location"]).context["secret"]
    client.post(response["Location"], {"code": code_now(secret), "next": "/admin/"})
    assert client.get("/admin/").status_code == 200


def test_admin_login_refuses_wrong_password(client):
    official = OfficialFactory()

    response = client.post(
        "/admin/login/?next=/admin/", {"username": official.email, "password": "wrong"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors


def test_admin_login_refuses_a_citizen(client):
    # A citizen has no username and no usable password; their phone is not an admin login.
    citizen = CitizenFactory(phone=PHONE)

    for username in (PHONE, str(citizen.pk), ""):
        response = client.post("/admin/login/?next=/admin/", {"username": username, "password": ""})
        assert response.status_code == 200
    assert "_auth_user_id" not in client.session
