"""Officials' second factor (accounts/officials_auth.py and officials_mfa.py), attacked through
the real login form.

The attackers: someone who stole or guessed an official's password; someone who watched an
official type a code; someone holding a used recovery code; a database reader; a citizen with
a session token. None of these tests uses the test client's login shortcuts (tests/conftest.py
marks those sessions as having passed the second factor): every session here earns it, or not,
through /admin/login/.
"""

import time
from importlib import import_module

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts import officials_mfa
from tests.factories import CitizenFactory, OfficialFactory, PollFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # OfficialFactory's
LOGIN = "/admin/login/"
STEP = "/admin/login/second-factor/"


def enrolled(**fields):
    """An official with an authenticator app and recovery codes: (official, secret, codes)."""
    official = OfficialFactory(**fields)
    secret = generate_totp_secret()
    TOTP.activate(official, secret)
    codes = RecoveryCodes.activate(official).generate_codes()
    return official, secret, codes


def code_now(secret: str, *, margin: float = 3.0) -> str:
    """The app's current code, taken with at least ``margin`` seconds left in its time step."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.1)
    return officials_mfa.current_code(secret=secret)


def password_step(client: Client, official, next_url: str = "/admin/") -> None:
    response = client.post(
        LOGIN, {"username": official.username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(STEP)


def code_step(client: Client, code: str, next_url: str = "/admin/"):
    return client.post(STEP, {"code": code, "next": next_url})


def is_logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def hand_built_session(user, *, second_factor: bool = False) -> str:
    """A session logged in some other way than the admin's form (e.g. allauth's app login)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if second_factor:
        from tests.conftest import pass_second_factor

        pass_second_factor(store, user)
    store.create()
    return store.session_key


def test_enforcement_is_on_by_default():
    """OFFICIAL_MFA_REQUIRED is on with no environment at all (DEBUG included): an operator
    must turn it off explicitly."""
    assert settings.OFFICIAL_MFA_REQUIRED is True


def test_stolen_password_alone_opens_no_admin_page_dashboard_or_api():
    """The attacker knows an enrolled official's password, not the code. After the password the
    session is not logged in: every admin page and dashboard sends it back to the step, the
    officials' API and allauth's session endpoint see nobody."""
    official, _secret, _codes = enrolled(is_superuser=True)
    poll = PollFactory()
    attacker = Client()
    password_step(attacker, official)
    assert not is_logged_in(attacker)

    for url in ("/admin/", "/admin/accounts/user/", f"/admin/voting/poll/{poll.pk}/change/"):
        response = attacker.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(LOGIN), url
        assert attacker.get(response["Location"])["Location"].startswith(STEP), url
    for url in ("/dashboard/", f"/dashboard/polls/{poll.pk}/", "/dashboard/open-polls.json"):
        response = attacker.get(url)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN), url

    ticket = attacker.post(
        "/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json"
    )
    assert ticket.status_code == 401  # a password alone is no login for the API
    assert "ticket" not in ticket.json()
    assert attacker.get("/_allauth/browser/v1/auth/session").status_code == 401
    # The step itself shows no secret to an enrolled official's pending login.
    step = attacker.get(STEP)
    assert step.status_code == 200
    assert b"otpauth://" not in step.content and b"recovery-codes" not in step.content


def test_code_completes_the_login_and_opens_the_admin_and_dashboards():
    """The official with password and app gets in, and lands where they were going."""
    official, secret, _codes = enrolled(is_superuser=True)
    client = Client()
    password_step(client, official, next_url="/admin/accounts/user/")
    response = code_step(client, code_now(secret), next_url="/admin/accounts/user/")
    assert response.status_code == 302 and response["Location"] == "/admin/accounts/user/"
    assert is_logged_in(client)
    assert client.get("/admin/").status_code == 200
    assert client.get("/dashboard/").status_code == 200
    assert Authenticator.objects.get(user=official, type="totp").last_used_at is not None


def test_official_without_authenticator_is_confined_to_enrolment_then_sees_codes_once():
    """A new official's first login: after the password only the enrolment page (secret,
    otpauth URL, QR code as SVG) — every admin URL leads back to it — until a code from the app
    confirms it; then the recovery codes, once. A database reader finds the secret sealed."""
    official = OfficialFactory()
    client = Client()
    password_step(client, official)
    page = client.get(STEP)
    assert page.status_code == 200
    secret = page.context["secret"]
    assert f"secret={secret}".encode() in page.content
    assert b"otpauth://totp/" in page.content and b"<svg" in page.content
    for url in ("/admin/", "/admin/accounts/user/", "/dashboard/"):
        first = client.get(url)
        assert first.status_code == 302 and first["Location"].startswith(LOGIN), url
        assert client.get(first["Location"])["Location"].startswith(STEP), url
    # Reloading shows the same secret (the app already scanned it).
    assert client.get(STEP).context["secret"] == secret

    wrong = code_step(client, "000000" if code_now(secret) != "000000" else "111111")
    assert wrong.status_code == 200 and not is_logged_in(client)
    assert not Authenticator.objects.filter(user=official).exists()

    done = code_step(client, code_now(secret))
    assert done.status_code == 200
    codes = done.context["recovery_codes"]
    assert len(codes) == 10 and all(code.encode() in done.content for code in codes)
    assert is_logged_in(client)
    assert client.get("/admin/").status_code == 200
    # Not shown again: the step is over, and no admin page holds them.
    assert client.get(STEP).status_code == 302
    stored = Authenticator.objects.get(user=official, type="totp").data["secret"]
    assert secret not in stored
    seed = Authenticator.objects.get(user=official, type="recovery_codes").data["seed"]
    assert not any(code in seed for code in codes)


def test_replayed_totp_code_in_the_same_time_step_is_refused():
    """The attacker watched the official type a code and knows the password: logging in with
    the same code in the same 30 seconds fails (each code counts once)."""
    official, secret, _codes = enrolled()
    code = code_now(secret, margin=12)
    official_client, attacker = Client(), Client()
    password_step(official_client, official)
    assert code_step(official_client, code).status_code == 302

    password_step(attacker, official)
    replay = code_step(attacker, code)
    assert replay.status_code == 200
    assert not is_logged_in(attacker)
    assert attacker.get("/admin/").status_code == 302


def test_recovery_code_works_once():
    """A lost phone: a recovery code signs the official in once. The attacker who finds the
    used code (a photo of the sheet, a shoulder) cannot use it again."""
    official, _secret, codes = enrolled()
    first = Client()
    password_step(first, official)
    assert code_step(first, codes[3]).status_code == 302
    assert first.get("/admin/").status_code == 200

    attacker = Client()
    password_step(attacker, official)
    assert code_step(attacker, codes[3]).status_code == 200
    assert not is_logged_in(attacker)
    # The other codes still work.
    other = Client()
    password_step(other, official)
    assert code_step(other, codes[4]).status_code == 302


def test_guessing_codes_is_rate_limited():
    """With the password, the attacker guesses codes: after 5 wrong ones even the right code is
    refused for a while (429), so a million codes cannot be tried."""
    official, secret, _codes = enrolled()
    attacker = Client()
    password_step(attacker, official)
    right = code_now(secret, margin=10)
    wrong = [f"{n:06d}" for n in range(5) if f"{n:06d}" != right][:5]
    for guess in wrong:
        assert code_step(attacker, guess).status_code == 200
    refused = code_step(attacker, right)
    assert refused.status_code == 429
    assert not is_logged_in(attacker)


def test_guessing_passwords_at_the_admin_login_is_rate_limited():
    """The admin's password form had no limit (allauth's limits cover its own endpoints only):
    after 5 wrong passwords for one official the right one is refused for a while."""
    official = OfficialFactory()
    attacker = Client()
    for n in range(5):
        response = attacker.post(LOGIN, {"username": official.username, "password": f"guess{n}"})
        assert response.status_code == 200
    response = attacker.post(LOGIN, {"username": official.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "too_many_attempts" in [e.code for e in response.context["form"].non_field_errors().data]
    assert not is_logged_in(attacker)


def test_superusers_need_the_second_factor_too():
    """A superuser's stolen password is no more use than an official's."""
    superuser, secret, _codes = enrolled(is_superuser=True)
    client = Client()
    password_step(client, superuser)
    assert client.get("/admin/").status_code == 302
    code_step(client, code_now(secret))
    assert client.get("/admin/").status_code == 200


def test_session_logged_in_elsewhere_without_a_second_factor_gets_no_official_power():
    """An official's session opened some other way (allauth's app login, by SMS code, where
    the official has no authenticator): the admin and dashboards send it to the step, the
    officials' API refuses it a ticket, and the dashboard WebSocket does not open."""
    official, secret, _codes = enrolled(is_superuser=True)
    poll = PollFactory()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = hand_built_session(official)

    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert client.get(admin["Location"])["Location"].startswith(STEP)
    assert client.get("/dashboard/").status_code == 302
    ticket = client.post("/api/v1/ws-tickets/", {"poll": poll.pk}, content_type="application/json")
    assert ticket.status_code == 403 and ticket.json()["code"] == "second_factor_required"

    # The step completes that session.
    assert code_step(client, code_now(secret)).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_app_token_of_an_official_needs_the_second_factor_for_a_ticket():
    """The officials' app trades its session token for a dashboard ticket: a token whose login
    skipped the second factor gets 403; one that passed it (allauth's MFA stage) gets a ticket."""
    official = OfficialFactory(is_superuser=True)
    poll = PollFactory()
    without, with_factor = APIClient(), APIClient()
    without.credentials(HTTP_X_SESSION_TOKEN=hand_built_session(official))
    with_factor.credentials(HTTP_X_SESSION_TOKEN=hand_built_session(official, second_factor=True))
    refused = without.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "second_factor_required"
    assert with_factor.post(
        "/api/v1/ws-tickets/", {"poll": poll.pk}, format="json"
    ).status_code == (201)


@pytest.mark.django_db(transaction=True)
async def test_dashboard_socket_refuses_a_session_without_second_factor():
    """A browser session of an official that did not pass the second factor opens no live
    tally socket; the same official's verified session does."""
    from channels.db import database_sync_to_async

    from config.asgi import application

    @database_sync_to_async
    def setup():
        official = OfficialFactory(is_superuser=True)
        return (
            PollFactory(),
            hand_built_session(official),
            hand_built_session(official, second_factor=True),
        )

    poll, plain, verified = await setup()

    async def connects(session_key: str) -> bool:
        headers = [
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()),
        ]
        communicator = WebsocketCommunicator(application, f"/ws/polls/{poll.pk}/", headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert not await connects(plain)
    assert await connects(verified)


def test_citizens_cannot_add_authenticators_through_allauth():
    """A citizen's token (or a thief's) cannot add, list or remove authenticators through
    allauth's endpoints: officials enrol at the admin's login. Clean 403 JSON, every method."""
    citizen = CitizenFactory()
    app = APIClient()
    app.credentials(HTTP_X_SESSION_TOKEN=hand_built_session(citizen))
    for path in ("authenticators", "authenticators/totp", "authenticators/recovery-codes"):
        url = f"/_allauth/app/v1/account/{path}"
        for method in ("get", "post", "delete"):
            response = getattr(app, method)(url, {"code": "123456"}, format="json")
            assert response.status_code == 403, (method, url)
            assert response.json()["code"] == "authenticators_not_available"
    assert not Authenticator.objects.filter(user=citizen).exists()


def test_next_cannot_send_the_official_elsewhere():
    """A phishing link's ``next`` pointing off-site ends at the admin index instead."""
    official, secret, _codes = enrolled()
    client = Client()
    password_step(client, official, next_url="https://evil.example/")
    response = code_step(client, code_now(secret), next_url="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_cancel_drops_the_pending_login():
    """At the step, "cancel" forgets the password that passed: the next visitor of that browser
    starts from the password again."""
    official, _secret, _codes = enrolled()
    client = Client()
    password_step(client, official)
    assert client.post(STEP, {"cancel": "1"}).status_code == 302
    assert client.get(STEP)["Location"].startswith(LOGIN)
    assert client.get(LOGIN).status_code == 200


def test_operator_may_turn_the_second_factor_off(settings):
    """OFFICIAL_MFA_REQUIRED=False (an operator's explicit choice): the password alone logs in."""
    settings.OFFICIAL_MFA_REQUIRED = False
    official = OfficialFactory()
    client = Client()
    response = client.post(LOGIN, {"username": official.username, "password": PASSWORD})
    assert response.status_code == 302 and not response["Location"].startswith(STEP)
    assert client.get("/admin/").status_code == 200


def test_demo_official_signs_in_with_the_code_demo_info_prints(settings, capsys):
    """`make run`: the demo official is enrolled by seed_demo and demo_info prints how to get
    a code; password plus that code opens the admin."""
    import io

    settings.DEBUG = True  # pytest-django turns it off; the demo is for development only
    call_command("seed_demo")
    out = io.StringIO()
    call_command("demo_info", stdout=out)
    assert "demo_info --code" in out.getvalue()
    code = io.StringIO()
    if (left := 30 - time.time() % 30) < 3:  # not in a time step's last seconds
        time.sleep(left + 0.1)
    call_command("demo_info", "--code", stdout=code)
    client = Client()
    response = client.post(LOGIN, {"username": "official", "password": "mvoting-demo"})
    assert response["Location"].startswith(STEP)
    assert code_step(client, code.getvalue().strip()).status_code == 302
    assert client.get("/admin/").status_code == 200
