"""A local FCM: Google's OAuth 2.0 token endpoint and the FCM HTTP v1 send endpoint, on one
``http.server`` on 127.0.0.1 in a thread.

``POST /token`` takes the JWT bearer grant a service account signs (RFC 7523, as Google's
``token_uri``): it checks the assertion's RS256 signature with the account's public key, its
``iss``, ``aud`` (this endpoint) and ``scope``, and answers an access token for an hour.
``POST /v1/projects/<project>/messages:send`` takes ``{"message": {...}}`` with a bearer access
token it issued (else 401 ``UNAUTHENTICATED``), checks the message as FCM does (data values are
strings, a token is named), and answers ``{"name": ...}`` or FCM's error bodies
(https://firebase.google.com/docs/cloud-messaging/error-codes): a test scripts answers per
device token: ``ok``, ``unregistered`` (404 ``UNREGISTERED``), ``invalid`` (400 ``FcmError``
``INVALID_ARGUMENT``), ``bad_payload`` (400 ``google.rpc.BadRequest``), ``quota`` (429
``QUOTA_EXCEEDED``, with ``retry_after``), ``unavailable`` (503), ``internal`` (500).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audience Google's token endpoint requires, whichever URL the grant is posted to.
AUDIENCE = "https://oauth2.googleapis.com/token"


def _error(code: int, status: str, message: str, *details: dict) -> dict:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


ANSWERS = {
    "unregistered": (
        404,
        _error(404, "NOT_FOUND", "Requested entity was not found.",
               {"@type": FCM_ERROR, "errorCode": "UNREGISTERED"}),
    ),
    "invalid": (
        400,
        _error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token",  # noqa: E501
               {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"}),
    ),
    "bad_payload": (
        400,
        _error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",  # noqa: E501
               {"@type": BAD_REQUEST, "fieldViolations": [{"field": "message.data[0].value"}]}),
    ),
    "quota": (
        429,
        _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.",
               {"@type": FCM_ERROR, "errorCode": "QUOTA_EXCEEDED"}),
    ),
    "unavailable": (
        503,
        _error(503, "UNAVAILABLE", "The service is currently unavailable.",
               {"@type": FCM_ERROR, "errorCode": "UNAVAILABLE"}),
    ),
    "internal": (
        500,
        _error(500, "INTERNAL", "Internal error encountered.",
               {"@type": FCM_ERROR, "errorCode": "INTERNAL"}),
    ),
}  # fmt: skip


@dataclass
class FakeFCM:
    project: str = "mvoting-test"
    client_email: str = "push@mvoting-test.iam.gserviceaccount.com"
    received: list[dict] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    token_requests: int = 0
    issued: set[str] = field(default_factory=set)
    scripts: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    retry_after: str | None = None
    url: str = ""

    def script(self, token: str, *answers: str) -> None:
        self.scripts[token].extend(answers)

    def revoke_tokens(self) -> None:
        """Forget every access token issued (as when Google revokes or expires them early)."""
        self.issued.clear()

    def service_account(self, path: Path) -> Path:
        """Write a service account key file whose ``token_uri`` is this server."""
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": self.project,
                    "private_key_id": "k1",
                    "private_key": self._pem,
                    "client_email": self.client_email,
                    "client_id": "1",
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        return path

    # --- protocol -------------------------------------------------------------------------

    def token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        self.token_requests += 1
        if form.get("grant_type") != [GRANT] or "assertion" not in form:
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form["assertion"][0],
                self._public,
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=self.client_email,
                options={"require": ["iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}
        if SCOPE not in claims.get("scope", "").split():
            return 400, {"error": "invalid_scope"}
        access = f"ya29.{uuid.uuid4().hex}"
        self.issued.add(access)
        return 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}

    def send(self, path: str, authorization: str, body: bytes) -> tuple[int, dict, dict]:
        if path != f"/v1/projects/{self.project}/messages:send":
            return 404, _error(404, "NOT_FOUND", "Requested entity was not found."), {}
        if authorization.removeprefix("Bearer ") not in self.issued:
            unauthenticated = "Request had invalid authentication credentials."
            return 401, _error(401, "UNAUTHENTICATED", unauthenticated), {}
        message = json.loads(body).get("message", {})
        token = message.get("token")
        data = message.get("data", {})
        if not isinstance(token, str) or not all(isinstance(v, str) for v in data.values()):
            status, answer = ANSWERS["bad_payload"]
            return status, answer, {}
        if self.scripts[token]:
            name = self.scripts[token].popleft()
            if name != "ok":
                status, answer = ANSWERS[name]
                headers = {}
                if status in (429, 503) and self.retry_after is not None:
                    headers["Retry-After"] = self.retry_after
                self.refused.append((token, status, name))
                return status, answer, headers
        self.received.append(message)
        return 200, {"name": f"projects/{self.project}/messages/{uuid.uuid4().int}"}, {}

    # --- running it -----------------------------------------------------------------------

    def start(self) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public = private.public_key()
        self._pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers: dict[str, str] = {}
                if self.path == "/token":
                    status, answer = fake.token(parse_qs(body.decode()))
                else:
                    status, answer, headers = fake.send(
                        self.path, self.headers.get("authorization", ""), body
                    )
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=UTF-8")
                self.send_header("content-length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


@contextlib.contextmanager
def running(directory: Path, settings) -> Iterator[FakeFCM]:
    """A started fake with the project's settings pointed at it (``settings``: pytest-django's
    fixture, which restores them after the test)."""
    fake = FakeFCM()
    fake.start()
    settings.FCM_SERVICE_ACCOUNT_FILE = str(fake.service_account(directory / "service.json"))
    settings.FCM_PROJECT_ID = ""  # from the key file, as with a real one
    settings.FCM_ENDPOINT = fake.url
    try:
        yield fake
    finally:
        fake.stop()
