"""Real servers for tests: gunicorn (HTTP, as in production), daphne (WebSockets), a private
redis-server, against pytest-django's test database; plus the clients that talk to them.

Every server runs on a free port of 127.0.0.1 and is always stopped in the test's teardown. The
servers use the test database, so tests using them commit their data
(``django_db(transaction=True)``) and stop the servers before the flush.
"""

import base64
import contextlib
import json
import os
import signal
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
from django.db import connection

from tests.conftest import make_session_token, pass_second_factor
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
DAPHNE = BIN / "daphne"
GUNICORN = BIN / "gunicorn"
STARTUP_TIMEOUT = 30.0
# What the servers call themselves in pg_stat_activity (the fault tests kill only these).
SERVER_APPLICATION_NAME = "mvoting-live-test"


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
    name = quote(db["NAME"], safe="")
    return f"postgres://{credentials}{host}{port}/{name}?application_name={SERVER_APPLICATION_NAME}"


def server_environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url_for_servers(),
        DEBUG="true",  # WhiteNoise serves the static files from the finders
        LOG_LEVEL="WARNING",
        # Small pools: several servers must not exhaust PostgreSQL beside the test process.
        DATABASE_POOL_MIN="1",
        DATABASE_POOL_MAX="5",
        BALLOT_THROTTLE_USER="100000/min",
        BALLOT_THROTTLE_IP="100000/min",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    # pytest's own settings must not leak into the servers.
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("PYTEST_ADDOPTS", None)
    return env


class Server:
    """A server process on a free port (or a given one), its output kept for failures."""

    kind = "server"

    def __init__(self, name: str, *, port: int | None = None, **env: str) -> None:
        self.name = name
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop())
            prefix=f"{self.kind}-{name}-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> "Server":
        self.process = subprocess.Popen(
            self.command(),
            cwd=BASE_DIR,
            env=server_environment(**self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )
        return self

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-6000:]

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT, *, expect: int = 200) -> None:
        """Wait until ``/healthz`` answers (200, or ``expect``: 503 while Redis is away)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"{self.kind} {self.name} exited with {self.process.returncode}:\n"
                    f"{self.output()}"
                )
            try:
                url = f"{self.base_url}/healthz"  # (plain http to the local test server)
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                    if response.status == expect:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code == expect:
                    return
                last = f"{exc.code} {exc.read()[:200]!r}"
            except OSError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        pytest.fail(
            f"{self.kind} {self.name} not healthy within {timeout}s ({last}):\n{self.output()}"
        )

    def kill(self) -> None:
        """SIGKILL the whole process group (a master and its workers), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        # Workers left behind by a master that died first.
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        self.stop()
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


class DaphneServer(Server):
    """``daphne config.asgi:application``: HTTP and WebSockets, one process."""

    kind = "daphne"

    def command(self) -> list[str]:
        return [str(DAPHNE), "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"]


class GunicornServer(Server):
    """``gunicorn config.wsgi:application``: the production HTTP server, pre-forked workers."""

    kind = "gunicorn"

    def __init__(self, name: str, *, workers: int = 3, port: int | None = None, **env: str):
        super().__init__(name, port=port, **env)
        self.workers = workers

    def command(self) -> list[str]:
        return [
            str(GUNICORN),
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "config.wsgi:application",
        ]

    def restart(self, *, expect: int = 200) -> None:
        """A new master and workers on the same port and environment (after a kill)."""
        self.stop()
        self.start()
        self.wait_healthy(expect=expect)


class CounterService(Server):
    """``manage.py count_ballots``: the counter service beside the servers, as docker-compose runs
    it — the same database and Redis — counting every ``COUNT_INTERVAL`` and publishing each
    batch's totals to the dashboards. It serves no HTTP: healthy once it says it has started."""

    kind = "counter"

    def __init__(self, name: str, **env: str) -> None:
        super().__init__(name, **{"LOG_LEVEL": "INFO", "COUNT_INTERVAL": "0.05", **env})

    def command(self) -> list[str]:
        return [sys.executable, "manage.py", "count_ballots"]

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT, *, expect: int = 200) -> None:
        deadline = time.monotonic() + timeout
        while "counter started" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"counter {self.name} did not start:\n{self.output()}")
            time.sleep(0.1)


class RedisServer:
    """A private ``redis-server`` on a free port, no persistence: stopped and restarted at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def running(*servers: Server) -> Iterator[list[Server]]:
    """Start the servers together, wait until each answers ``/healthz``, always stop them."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy()
        yield list(servers)
    finally:
        for server in servers:
            server.close()


@contextlib.contextmanager
def running_servers(*names: str) -> Iterator[list[DaphneServer]]:
    """Daphne servers, one per name (HTTP + WebSocket in one process each)."""
    with running(*(DaphneServer(name) for name in names)) as servers:
        yield servers  # type: ignore[misc]


# --- Clients -------------------------------------------------------------------------------------


def session_cookie(user) -> str:
    """A committed admin session for ``user``, as the admin login would leave it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    pass_second_factor(store, user)  # the admin's login asks for it (accounts/officials_auth.py)
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def voters(count: int) -> list[str]:
    """Session tokens of ``count`` citizens who may vote in a city-wide poll."""
    return [
        make_session_token(CitizenFactory(district_id=SAJIK, birth_year=1980 + i, gender="female"))
        for i in range(count)
    ]


def cast_ballot(server: Server, token: str, poll_id: int, option_id: int) -> dict:
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

    def __init__(self, server: Server, path: str, *, cookie: str, timeout: float = 10):
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
