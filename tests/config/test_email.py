"""Officials' mail, configured by one EMAIL_URL and delivered over SMTP.

Settings are read in a subprocess, as a server starts them. Delivery goes to a real SMTP server on
127.0.0.1 (aiosmtpd, in a thread) that checks the login the URL carries and refuses a wrong one.
"""

import email
import email.policy
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.config.production_env import ROOT, free_port, production_env

SETTINGS = [
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
]
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def _run(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _email_settings(env: dict[str, str]) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        f"print('SETTINGS' + json.dumps({{n: getattr(s, n) for n in {SETTINGS!r}}}))"
    )
    result = _run(env, code)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("SETTINGS"))
    return json.loads(line.removeprefix("SETTINGS"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            # STARTTLS on the submission port; "@" and "/" in the login percent-encoded.
            "smtp+tls://officials%40seoul.go.kr:p%40ss%2Fword@smtp.seoul.go.kr:587",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "smtp.seoul.go.kr",
                "EMAIL_PORT": 587,
                "EMAIL_HOST_USER": "officials@seoul.go.kr",
                "EMAIL_HOST_PASSWORD": "p@ss/word",
                "EMAIL_USE_TLS": True,
                "EMAIL_USE_SSL": False,
            },
        ),
        (
            "smtp+ssl://mailer:secret@smtp.seoul.go.kr:465",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "smtp.seoul.go.kr",
                "EMAIL_PORT": 465,
                "EMAIL_HOST_USER": "mailer",
                "EMAIL_HOST_PASSWORD": "secret",
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": True,
            },
        ),
        (
            # A relay inside the network: no login, no TLS, the default port.
            "smtp://relay.internal",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "relay.internal",
                "EMAIL_PORT": 25,
                "EMAIL_HOST_USER": "",
                "EMAIL_HOST_PASSWORD": "",
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": False,
            },
        ),
    ],
    ids=["starttls", "implicit-tls", "relay"],
)
def test_production_reads_the_smtp_server_from_email_url(tmp_path, url, expected):
    started = _email_settings(production_env(tmp_path, EMAIL_URL=url))
    assert {name: started[name] for name in expected} == expected


def test_production_without_email_url_uses_smtp_on_localhost_never_the_console(tmp_path):
    """The console backend would print every reset link into the logs."""
    started = _email_settings(production_env(tmp_path))
    assert (started["EMAIL_BACKEND"], started["EMAIL_HOST"], started["EMAIL_PORT"]) == (
        SMTP,
        "localhost",
        25,
    )
    assert started["SERVER_EMAIL"] == started["DEFAULT_FROM_EMAIL"]


def test_make_run_prints_mail_to_the_console(tmp_path):
    env = production_env(tmp_path)
    env.pop("DEBUG")
    assert _email_settings(env)["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_a_mistyped_email_url_stops_the_start_with_one_line(tmp_path):
    result = _run(production_env(tmp_path, EMAIL_URL="smpt://smtp.seoul.go.kr"), "pass")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "configuration error: EMAIL_URL: Invalid email schema smpt"
    ]


# --- Delivery to a real SMTP server --------------------------------------------------------------


@dataclass
class _Mailbox:
    user: str
    password: str
    logins: list[str] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (login, password) == (self.user, self.password)
        if ok:
            self.logins.append(login)
        # handled=False: aiosmtpd answers the refusal itself (535).
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope) -> str:
        if not session.authenticated:
            return "530 Authentication required"
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(envelope.content, policy=email.policy.default),
            }
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Mailbox, int]]:
    mailbox = _Mailbox(user="officials@seoul.go.kr", password="p@ss/word")
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_require_tls=False,  # TLS is the SMTP library's; here the login is what is checked
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


SEND = """
from django.conf import settings
from django.core.mail import send_mail
send_mail(
    "[엠보팅] 비밀번호 재설정",
    "비밀번호를 재설정하려면 다음 링크를 여세요: https://vote.seoul.go.kr/reset/MQ/abc-123/",
    None,
    ["kim.official@jongno.go.kr"],
)
"""


def test_mail_reaches_the_smtp_server_with_the_urls_login(tmp_path, smtp_server):
    mailbox, port = smtp_server
    env = production_env(
        tmp_path,
        EMAIL_URL=f"smtp://officials%40seoul.go.kr:p%40ss%2Fword@127.0.0.1:{port}",
        DEFAULT_FROM_EMAIL="서울시 엠보팅 <noreply@vote.seoul.go.kr>",
    )
    result = _run(env, SEND)
    assert result.returncode == 0, result.stderr[-2000:]
    assert mailbox.logins == ["officials@seoul.go.kr"]
    [sent] = mailbox.messages
    assert sent["from"] == "noreply@vote.seoul.go.kr"
    assert sent["to"] == ["kim.official@jongno.go.kr"]
    message = sent["message"]
    assert message["Subject"] == "[엠보팅] 비밀번호 재설정"
    assert "https://vote.seoul.go.kr/reset/MQ/abc-123/" in message.get_content()
    # Delivered, not printed: the link is nowhere in the process's output.
    assert "abc-123" not in result.stdout + result.stderr


def test_a_refused_login_fails_the_send_instead_of_dropping_the_mail(tmp_path, smtp_server):
    mailbox, port = smtp_server
    env = production_env(
        tmp_path, EMAIL_URL=f"smtp://officials%40seoul.go.kr:wrong@127.0.0.1:{port}"
    )
    result = _run(env, SEND)
    assert result.returncode != 0
    assert "SMTPAuthenticationError" in result.stderr
    assert mailbox.messages == []


def test_a_mail_server_that_never_answers_times_out(tmp_path):
    """A server that accepts the connection and says nothing must not hold a web worker."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    port = listener.getsockname()[1]
    try:
        env = production_env(tmp_path, EMAIL_URL=f"smtp://127.0.0.1:{port}", EMAIL_TIMEOUT="1")
        result = _run(env, SEND)
    finally:
        for conn in accepted:
            conn.close()
        listener.close()
    assert result.returncode != 0
    assert "timed out" in result.stderr
