"""``manage.py create_official`` (accounts/bootstrap.py): the first city official of a new
deployment, who signs in to the admin through the real login form with the password and a code
from the secret the command printed — and not without the code."""

import io
import re

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import SESSION_KEY
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from accounts.roles import OFFICIAL_GROUP
from tests.accounts.test_official_mfa import LOGIN, STEP, code_now, code_step
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long and quite unguessable sentence 42"


def create(*args: str, **options) -> str:
    out = io.StringIO()
    call_command("create_official", *args, stdout=out, **options)
    return out.getvalue()


def printed_secret(output: str) -> str:
    match = re.search(r"secret: ([A-Z2-7]+)", output)
    assert match, output
    return match.group(1)


def printed_recovery_codes(output: str) -> list[str]:
    block = output.split("Recovery codes", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines()[1:] if line.strip()]


def password_step(client: Client, username: str, password: str = PASSWORD) -> None:
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"].startswith(STEP)


@pytest.fixture
def password_env(monkeypatch):
    monkeypatch.setenv("OFFICIAL_PASSWORD", PASSWORD)


def test_the_official_signs_in_with_password_and_the_printed_secrets_code(password_env):
    output = create("mayor", email="mayor@seoul.go.kr")
    secret = printed_secret(output)
    assert "otpauth://totp/" in output and f"secret={secret}" in output
    assert PASSWORD not in output

    official = User.objects.get(username="mayor")
    assert official.is_staff and not official.is_superuser
    assert official.jurisdiction_id is None  # city-wide
    assert list(official.groups.values_list("name", flat=True)) == [OFFICIAL_GROUP]
    stored = Authenticator.objects.get(user=official, type="totp").data["secret"]
    assert secret not in stored  # sealed at rest, as the login's own enrolment does

    client = Client()
    password_step(client, "mayor")
    done = code_step(client, code_now(secret))
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert SESSION_KEY in client.session
    assert client.get("/admin/").status_code == 200


def test_without_the_code_the_password_opens_nothing(password_env):
    """Enrolled by the command: the first login asks for a code, it offers no enrolment of
    another app (whoever had the password could otherwise enrol theirs), and a wrong code
    leaves the session logged out."""
    secret = printed_secret(create("mayor", email="mayor@seoul.go.kr"))
    client = Client()
    password_step(client, "mayor")
    step = client.get(STEP)
    assert step.status_code == 200 and b"otpauth://" not in step.content
    assert SESSION_KEY not in client.session
    assert client.get("/admin/").status_code == 302

    wrong = "000000" if code_now(secret) != "000000" else "111111"
    assert code_step(client, wrong).status_code == 200
    assert SESSION_KEY not in client.session
    assert client.get("/admin/").status_code == 302

    other = Client()
    response = other.post(LOGIN, {"username": "mayor", "password": "not the password at all"})
    assert response.status_code == 200 and SESSION_KEY not in other.session


def test_a_printed_recovery_code_signs_in_once(password_env):
    codes = printed_recovery_codes(create("mayor", email="mayor@seoul.go.kr"))
    assert len(codes) == 10
    client = Client()
    password_step(client, "mayor")
    assert code_step(client, codes[0]).status_code == 302
    again = Client()
    password_step(again, "mayor")
    assert code_step(again, codes[0]).status_code == 200
    assert SESSION_KEY not in again.session


def test_running_it_again_refuses_and_changes_nothing(password_env):
    secret = printed_secret(create("mayor", email="mayor@seoul.go.kr"))
    before = list(Authenticator.objects.values_list("pk", "data"))
    with pytest.raises(CommandError, match="exists already"):
        create("mayor", email="another@seoul.go.kr")
    with pytest.raises(CommandError, match="exists already"):
        create("MAYOR", email="third@seoul.go.kr")  # usernames differ in case only
    with pytest.raises(CommandError, match="exists already"):
        create("deputy", email="Mayor@Seoul.go.kr")  # the email is taken
    assert User.objects.count() == 1
    assert list(Authenticator.objects.values_list("pk", "data")) == before
    client = Client()
    password_step(client, "mayor")
    assert code_step(client, code_now(secret)).status_code == 302


def test_superuser_makes_an_operator(password_env):
    create("operator", email="ops@seoul.go.kr", superuser=True)
    official = User.objects.get(username="operator")
    assert official.is_superuser and official.is_staff and official.jurisdiction_id is None


def test_the_password_never_comes_from_the_command_line(monkeypatch):
    monkeypatch.delenv("OFFICIAL_PASSWORD", raising=False)
    with pytest.raises(CommandError):
        create("mayor", "--email", "mayor@seoul.go.kr", "--password", PASSWORD)
    # No terminal to ask on (a pipe, CI): refused, not created with some default.
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    with pytest.raises(CommandError, match="OFFICIAL_PASSWORD"):
        create("mayor", email="mayor@seoul.go.kr")
    assert not User.objects.filter(username="mayor").exists()


def test_the_password_is_asked_twice_at_a_terminal(monkeypatch):
    monkeypatch.delenv("OFFICIAL_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter([PASSWORD, PASSWORD + "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="differ"):
        create("mayor", email="mayor@seoul.go.kr")
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    create("mayor", email="mayor@seoul.go.kr")
    client = Client()
    password_step(client, "mayor")


def test_a_weak_password_or_a_citizens_email_is_refused(monkeypatch):
    monkeypatch.setenv("OFFICIAL_PASSWORD", "password")
    with pytest.raises(CommandError) as refused:  # Django's validators, in the operator's language
        create("mayor", email="mayor@seoul.go.kr")
    assert str(refused.value)
    monkeypatch.setenv("OFFICIAL_PASSWORD", PASSWORD)
    CitizenFactory(email="someone@example.kr")
    with pytest.raises(CommandError, match="exists already"):
        create("mayor", email="someone@example.kr")
    assert not User.objects.filter(username="mayor").exists()
    assert not Authenticator.objects.exists()
