"""Error tracking: with SENTRY_DSN an exception in a view reaches Sentry's ingest — without the
phone number, the session token, the cookies; without SENTRY_DSN nothing is even loaded.

The ingest is a local HTTP server speaking Sentry's envelope protocol (``POST
/api/<project>/envelope/``, newline-delimited JSON headers and items, gzip-compressed by the SDK).
The app runs in a child process configured only through the environment, as a server is, so the
real path (settings → AppConfig.ready → sentry_sdk.init) is what is tested and this test process
is left uninstrumented.
"""

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

from tests.core.sentry_urls import PHONE, TOKEN

REQUEST_ID = "3f2b8c1d9e7a4b6c8d0e1f2a3b4c5d6e"
COOKIE = "cookie-secret-abc987654321"
CSRF = "csrf-secret-def987654321"
AUTH = "auth-secret-ghi987654321"

SCRIPT = f"""
import io, sys
from wsgiref.util import setup_testing_defaults
from config.wsgi import application  # what gunicorn serves: Sentry wraps it when enabled
from django.test import override_settings
print("loaded" if "sentry_sdk" in sys.modules else "not-loaded")
environ = {{
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/api/v1/boom/",
    "QUERY_STRING": "phone=01012345678",
    "HTTP_HOST": "testserver",
    "REMOTE_ADDR": "198.51.100.77",
    "HTTP_COOKIE": "sessionid={COOKIE}; csrftoken={CSRF}",
    "HTTP_X_SESSION_TOKEN": "{TOKEN}",
    "HTTP_AUTHORIZATION": "Bearer {AUTH}",
    "HTTP_X_REQUEST_ID": "{REQUEST_ID}",
    "HTTP_X_FORWARDED_FOR": "203.0.113.77",
}}
setup_testing_defaults(environ)
status = []
with override_settings(ROOT_URLCONF="tests.core.sentry_urls", DEBUG=False):
    body = b"".join(application(environ, lambda s, h, *a: status.append(s)))
print(status[0].split()[0])
if "sentry_sdk" in sys.modules:
    import sentry_sdk
    sentry_sdk.flush(timeout=10)
"""


class FakeIngest(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        FakeIngest.received.append((self.path, body))
        answer = json.dumps({"id": "0" * 32}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ingest() -> Iterator[str]:
    FakeIngest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeIngest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_port}/42"
    finally:
        server.shutdown()
        server.server_close()


def items(envelope: bytes) -> list[tuple[dict, bytes]]:
    """An envelope's items: (item header, payload), lengths honoured when given."""
    _header, _sep, rest = envelope.partition(b"\n")
    found = []
    while rest.strip():
        line, _sep, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _sep, rest = rest.partition(b"\n")
        found.append((header, payload))
    return found


def run_app(**environment: str) -> list[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SENTRY_DSN", "PYTEST_CURRENT_TEST"}
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **environment)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.split()


def test_an_exception_arrives_without_personal_data(ingest):
    output = run_app(SENTRY_DSN=ingest)
    assert output[:2] == ["loaded", "500"]

    assert FakeIngest.received, "nothing reached the ingest"
    events = []
    for path, envelope in FakeIngest.received:
        assert path == "/api/42/envelope/"
        events += [json.loads(p) for h, p in items(envelope) if h.get("type") == "event"]
    (event,) = events
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert event["tags"]["request_id"] == REQUEST_ID
    assert event["request"]["method"] == "GET"
    assert event["request"]["url"].endswith("/api/v1/boom/")

    everything = b"".join(envelope for _path, envelope in FakeIngest.received).decode()
    for secret in (
        TOKEN,
        COOKIE,
        CSRF,
        AUTH,
        PHONE,
        "1012345678",
        "1234-5678",
        "198.51.100.77",
        "203.0.113.77",
    ):
        assert secret not in everything, secret
    assert "vars" not in json.dumps(event["exception"])  # no frame's local variables
    assert "[phone]" in exception["value"]  # scrubbed, not dropped: the message still helps


def test_without_a_dsn_nothing_is_loaded_or_sent(ingest):
    output = run_app()
    assert output[:2] == ["not-loaded", "500"]
    assert FakeIngest.received == []
