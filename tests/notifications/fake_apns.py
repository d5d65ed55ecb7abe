"""A local APNs: Apple's provider API (``POST /3/device/<token>``) over HTTP/2 and TLS.

hypercorn serves the ASGI app below on 127.0.0.1 with a certificate from a throwaway CA made by
trustme (the client trusts it through ``PUSH_CA_FILE``); ALPN negotiates ``h2`` as with Apple,
and every request records the HTTP version it came over. The server checks what Apple checks:
the provider token's ES256 signature against the team's public key, its ``kid`` and ``iss``,
its age (over an hour: ``ExpiredProviderToken``), the topic, the push type, the collapse id's
64 bytes, and the device token's form (64 hex digits, else ``BadDeviceToken``). A test scripts
answers per device token: ``ok``, ``unregistered`` (410), ``bad_token`` (400),
``too_many`` (429), ``unavailable`` (503), ``internal`` (500) or ``expired_jwt`` (403).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.asyncio import serve
from hypercorn.config import Config

ANSWERS = {
    "unregistered": (410, "Unregistered"),
    "bad_token": (400, "BadDeviceToken"),
    "too_many": (429, "TooManyRequests"),
    "unavailable": (503, "ServiceUnavailable"),
    "internal": (500, "InternalServerError"),
    "expired_jwt": (403, "ExpiredProviderToken"),
}


@dataclass
class Received:
    token: str
    http_version: str
    headers: dict[str, str]
    payload: dict
    jwt_claims: dict


@dataclass
class FakeAPNs:
    key_file: Path
    ca_file: Path
    key_id: str = "KEY1234567"
    team_id: str = "TEAM123456"
    topic: str = "kr.go.seoul.mvoting"
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    scripts: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    retry_after: str | None = None
    url: str = ""

    def script(self, token: str, *answers: str) -> None:
        self.scripts[token].extend(answers)

    def delivered(self) -> list[Received]:
        return list(self.received)

    # --- the ASGI app ---------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, reason, claims = self._answer(scope, headers, body)
        extra = [(b"apns-id", str(uuid.uuid4()).encode())]
        if status == 200:
            self.received.append(
                Received(
                    token=scope["path"].rsplit("/", 1)[-1],
                    http_version=scope["http_version"],
                    headers=headers,
                    payload=json.loads(body),
                    jwt_claims=claims,
                )
            )
            await send({"type": "http.response.start", "status": 200, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        self.refused.append((scope["path"].rsplit("/", 1)[-1], status, reason))
        answer: dict[str, object] = {"reason": reason}
        if status == 410:
            answer["timestamp"] = int(time.time() * 1000)
        if status in (429, 503) and self.retry_after is not None:
            extra.append((b"retry-after", self.retry_after.encode()))
        extra.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    def _answer(self, scope, headers: dict[str, str], body: bytes) -> tuple[int, str, dict]:
        if scope["method"] != "POST":
            return 405, "MethodNotAllowed", {}
        parts = scope["path"].split("/")
        if len(parts) != 4 or parts[:3] != ["", "3", "device"]:
            return 404, "BadPath", {}
        authorization = headers.get("authorization", "")
        if not authorization.startswith("bearer "):
            return 403, "MissingProviderToken", {}
        provider_token = authorization.removeprefix("bearer ")
        try:
            header = jwt.get_unverified_header(provider_token)
            claims = jwt.decode(
                provider_token,
                self.public_key,
                algorithms=["ES256"],
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.PyJWTError:
            return 403, "InvalidProviderToken", {}
        if header.get("kid") != self.key_id or claims["iss"] != self.team_id:
            return 403, "InvalidProviderToken", {}
        if time.time() - claims["iat"] > 3600:
            return 403, "ExpiredProviderToken", claims
        if headers.get("apns-topic") != self.topic:
            return 400, "TopicDisallowed", claims
        if headers.get("apns-push-type") != "alert":
            return 400, "InvalidPushType", claims
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            return 400, "BadCollapseId", claims
        if not headers.get("apns-expiration", "").isdigit():
            return 400, "BadExpirationDate", claims
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "PayloadEmpty", claims
        if "alert" not in payload.get("aps", {}):
            return 400, "PayloadEmpty", claims
        if len(body) > 4096:
            return 413, "PayloadTooLarge", claims
        token = parts[3]
        if self.scripts[token]:
            answer = self.scripts[token].popleft()
            if answer != "ok":
                status, reason = ANSWERS[answer]
                return status, reason, claims
        if len(token) != 64 or any(c not in "0123456789abcdef" for c in token.lower()):
            return 400, "BadDeviceToken", claims
        return 200, "", claims

    # --- running it -----------------------------------------------------------------------

    def start(self, directory: Path) -> None:
        private = ec.generate_private_key(ec.SECP256R1())
        self.public_key = private.public_key()
        self.key_file.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(self.ca_file))
        server_cert = ca.issue_cert("127.0.0.1", "localhost")
        certfile, keyfile = directory / "apns-cert.pem", directory / "apns-key.pem"
        server_cert.cert_chain_pems[0].write_to_path(str(certfile))
        for pem in server_cert.cert_chain_pems[1:]:
            pem.write_to_path(str(certfile), append=True)
        server_cert.private_key_pem.write_to_path(str(keyfile))

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(100)
        port = listener.getsockname()[1]
        config = Config()
        # hypercorn owns the socket from here (it closes it on shutdown): a port of the
        # kernel's choosing, known before the server starts.
        config.bind = [f"fd://{listener.detach()}"]
        config.certfile, config.keyfile = str(certfile), str(keyfile)
        config.alpn_protocols = ["h2"]  # Apple's servers speak nothing else
        config.accesslog = None
        config.errorlog = None
        self.url = f"https://127.0.0.1:{port}"
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            ready.set()
            await serve(self, config, shutdown_trigger=self._stop.wait)

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        ready.wait(5)
        _wait_for_port(port)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("the fake APNs server did not start")


@contextlib.contextmanager
def running(directory: Path, settings) -> Iterator[FakeAPNs]:
    """A started fake with the project's settings pointed at it (``settings``: pytest-django's
    fixture, which restores them after the test)."""
    fake = FakeAPNs(key_file=directory / "AuthKey_test.p8", ca_file=directory / "ca.pem")
    fake.start(directory)
    settings.APNS_KEY_FILE = str(fake.key_file)
    settings.APNS_KEY_ID = fake.key_id
    settings.APNS_TEAM_ID = fake.team_id
    settings.APNS_TOPIC = fake.topic
    settings.APNS_ENDPOINT = fake.url
    settings.PUSH_CA_FILE = str(fake.ca_file)
    try:
        yield fake
    finally:
        fake.stop()
