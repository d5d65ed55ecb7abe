"""Live tallies across processes: two real daphne servers sharing PostgreSQL and Redis.

A dashboard socket on one server, ballots through the other: the totals must cross from one
process to the other through the channel layer. The servers run against the test database, so
the test commits its data (``transaction=True``) and stops the servers before the flush.

The helpers here (``DaphneServer``, ``WebSocketClient``, ``session_cookie``...) serve the
browser test too.
"""

import base64
import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group as AuthGroup
from django.db import connection

from accounts.roles import ensure_official_group
from tests.conftest import make_session_token
from tests.factories import CitizenFactory, OfficialFactory, PollFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(settings.BASE_DIR)
DAPHNE = Path(sys.executable).with_name("daphne")
STARTUP_TIMEOUT = 30.0
SAJIK = "1111053000"  # 종로구 사직동


# --- Servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_servers() -> str:
    """The database the tests use right now (pytest-django's test database), as a URL."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


def server_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url_for_servers(),
        DEBUG="true",  # WhiteNoise serves the static files from the finders
        LOG_LEVEL="WARNING",
        # Small pools: two servers must not exhaust PostgreSQL beside the test process.
        DATABASE_POOL_MIN="1",
        DATABASE_POOL_MAX="5",
        BALLOT_THROTTLE_USER="100000/min",
        BALLOT_THROTTLE_IP="100000/min",
        PYTHONUNBUFFERED="1",
    )
    # pytest's own settings must not leak into the servers.
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("PYTEST_ADDOPTS", None)
    return env


class DaphneServer:
    """``daphne config.asgi:application`` on a free port, its output kept for failures."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop())
            prefix=f"daphne-{name}-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> "DaphneServer":
        self.process = subprocess.Popen(
            [str(DAPHNE), "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
            cwd=BASE_DIR,
            env=server_environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"daphne {self.name} exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                url = f"{self.base_url}/healthz"  # (plain http to the local test server)
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = f"{exc.code} {exc.read()[:200]!r}"
            except OSError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        pytest.fail(f"daphne {self.name} not healthy within {timeout}s ({last}):\n{self.output()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


@contextlib.contextmanager
def running_servers(*names: str) -> Iterator[list[DaphneServer]]:
    """Start the servers together, wait until each answers ``/healthz``, always stop them."""
    servers = [DaphneServer(name) for name in names]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def two_servers(transactional_db) -> Iterator[list[DaphneServer]]:
    with running_servers("one", "two") as servers:
        yield servers


# --- Clients -------------------------------------------------------------------------------------


def official_in_group(**fields):
    ensure_official_group()
    user = OfficialFactory(**fields)
    user.groups.add(AuthGroup.objects.get(name="official"))
    return user


def session_cookie(user) -> str:
    """A committed admin session for ``user``, as the admin login would leave it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def voters(count: int) -> list[str]:
    """Session tokens of ``count`` citizens who may vote in a city-wide poll."""
    return [
        make_session_token(CitizenFactory(district_id=SAJIK, birth_year=1980 + i, gender="female"))
        for i in range(count)
    ]


def cast_ballot(server: DaphneServer, token: str, poll_id: int, option_id: int) -> dict:
    request = urllib.request.Request(  # noqa: S310 (plain http to the local test server)
        f"{server.base_url}/api/v1/polls/{poll_id}/ballots/",
        data=json.dumps({"options": [option_id]}).encode(),
        headers={"Content-Type": "application/json", "X-Session-Token": token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 201
            return json.load(response)
    except urllib.error.HTTPError as exc:
        pytest.fail(f"ballot refused: {exc.code} {exc.read()[:300]!r}\n{server.output()}")


class WebSocketClient:
    """Just enough RFC 6455 for a test: handshake, text frames in and out, bounded waits."""

    def __init__(self, server: DaphneServer, path: str, *, cookie: str, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            f"Origin: {server.base_url}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        self.accepted = " 101 " in self.status_line + " "

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("socket closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, data: dict) -> None:
        self._send_frame(0x1, json.dumps(data).encode())

    def receive_json(self, timeout: float) -> dict:
        self.sock.settimeout(timeout)
        message = b""
        while True:
            first, second = self._read(2)
            opcode, final = first & 0x0F, first & 0x80
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            payload = self._read(length)
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError(f"closed by the server: {payload!r}")
            if opcode in (0x0, 0x1):
                message += payload
                if final:
                    return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send_frame(0x8, struct.pack("!H", 1000))
        self.sock.close()


def wait_for_total(client: WebSocketClient, expected: int, timeout: float) -> dict:
    """Read tally messages until one carries ``expected`` ballots; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no tally with total {expected} within {timeout}s; saw totals {seen}")
        try:
            message = client.receive_json(timeout=left)
        except TimeoutError:
            continue
        seen.append(message.get("total"))
        if message.get("type") == "tally" and message.get("total") == expected:
            return message


# --- The test ------------------------------------------------------------------------------------


def test_ballots_through_one_server_reach_a_dashboard_on_the_other(two_servers):
    dashboard_server, ballot_server = two_servers
    poll = PollFactory(options=["찬성", "반대"])
    yes, no = poll.options.order_by("position")
    tokens = voters(7)
    official = official_in_group()

    client = WebSocketClient(
        dashboard_server, f"/ws/polls/{poll.pk}/", cookie=session_cookie(official)
    )
    try:
        assert client.accepted, client.status_line
        snapshot = client.receive_json(timeout=10)
        assert (snapshot["type"], snapshot["poll"], snapshot["total"]) == ("tally", poll.pk, 0)

        choices = [yes.pk] * 4 + [no.pk] * 3
        for token, option_id in zip(tokens, choices, strict=True):
            cast_ballot(ballot_server, token, poll.pk, option_id)

        final = wait_for_total(client, len(tokens), timeout=15)
        assert {o["id"]: o["votes"] for o in final["options"]} == {yes.pk: 4, no.pk: 3}
        assert final["status"] == "open"

        # A refresh asked of the dashboard's own server agrees (read from PostgreSQL).
        client.send_json({"type": "refresh"})
        assert wait_for_total(client, len(tokens), timeout=10)["total"] == 7
    finally:
        client.close()


def test_anonymous_socket_is_refused_by_a_real_server(two_servers):
    poll = PollFactory()
    client = WebSocketClient(two_servers[0], f"/ws/polls/{poll.pk}/", cookie="sessionid=nothing")
    try:
        assert not client.accepted
        assert " 403 " in client.status_line + " ", client.status_line
    finally:
        client.close()
