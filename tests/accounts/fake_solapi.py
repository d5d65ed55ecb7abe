"""A local SOLAPI: a real HTTP server on 127.0.0.1 speaking SOLAPI's documented v4 protocol.

It checks what SOLAPI checks (developers.solapi.com, "API Key 인증 방식"): the
``HMAC-SHA256 apiKey=, date=, salt=, signature=`` header, the API key, a date within 15 minutes,
a salt of 12-64 bytes, the signature (hex HMAC-SHA256 of date + salt under the secret) and that
no signature is used twice; then answers ``POST /messages/v4/send-many/detail`` with the
documented body (``groupInfo``, ``failedMessageList``, ``messageList``), or with one of the
documented error shapes (``{"errorCode", "errorMessage"}``) the test scripted: rate limited
(429 with ``Retry-After``), an outage (503). A number in ``unknown_numbers`` is not registered:
it comes back in ``failedMessageList`` with a ``statusCode``, as SOLAPI reports a recipient it
will not send to. ``GET /messages/v4/list?criteria=messageId&cond=eq&value=<id>`` answers the
documented message list with ``report_code`` as the carrier's verdict (``4000``: received).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "NCSTESTKEY0000001"
API_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
SENDER = "0212345678"
UNKNOWN_NUMBER_CODE = "1022"
CARRIER_FAILURE_CODE = "3059"  # an example of a carrier's "not delivered" code
SMS_PRICE = 20  # KRW (points), per SMS
LMS_PRICE = 50

_AUTH = re.compile(
    r"^HMAC-SHA256 apiKey=(?P<key>[^,]+), date=(?P<date>[^,]+), salt=(?P<salt>[^,]+), "
    r"signature=(?P<signature>[0-9a-f]{64})$"
)


class FakeSolapi:
    def __init__(self) -> None:
        self.script: list[str] = []  # answers to give, in order; then "ok"
        self.unknown_numbers: set[str] = set()
        self.sent: list[dict[str, Any]] = []  # messages accepted
        self.requests = 0
        self.auth_refusals: list[str] = []
        self.report_code = "4000"
        self.list_requests = 0
        self._messages: dict[str, dict[str, Any]] = {}
        self._signatures: set[str] = set()
        self._lock = threading.Lock()
        self._seq = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeSolapi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the protocol ----------------------------------------------------------------------

    def check_auth(self, header: str) -> str | None:
        """The error code SOLAPI would answer, or None."""
        match = _AUTH.match(header or "")
        if not match:
            return "InvalidAuthorizationHeader"
        if match["key"] != API_KEY:
            return "InvalidApiKey"
        try:
            date = datetime.strptime(match["date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "InvalidDate"
        if abs((datetime.now(UTC) - date).total_seconds()) > 15 * 60:
            return "RequestTimeTooSkewed"
        if not 12 <= len(match["salt"].encode()) <= 64:
            return "InvalidSalt"
        expected = hmac.new(
            API_SECRET.encode(), (match["date"] + match["salt"]).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, match["signature"]):
            return "SignatureDoesNotMatch"
        with self._lock:
            if match["signature"] in self._signatures:
                return "DuplicatedSignature"
            self._signatures.add(match["signature"])
        return None

    def answer(self, headers: Any, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            self.requests += 1
            mode = self.script.pop(0) if self.script else "ok"
        refusal = self.check_auth(headers.get("Authorization", ""))
        if refusal:
            self.auth_refusals.append(refusal)
            return 403, {}, {"errorCode": refusal, "errorMessage": "인증 오류"}
        if mode == "rate_limited":
            return 429, {"Retry-After": "1"}, _error("TooManyRequests", "요청이 너무 많습니다.")
        if mode == "outage":
            return 503, {}, _error("InternalError", "일시적인 오류")
        try:
            messages = json.loads(body)["messages"]
            assert isinstance(messages, list) and messages
            assert all({"to", "from", "text"} <= set(m) for m in messages)
        except (ValueError, KeyError, AssertionError):
            return 400, {}, _error("ValidationError", "messages 형식 오류")
        return 200, {}, self._group(messages)

    def report(self, headers: Any, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.list_requests += 1
        refusal = self.check_auth(headers.get("Authorization", ""))
        if refusal:
            self.auth_refusals.append(refusal)
            return 403, {"errorCode": refusal, "errorMessage": "인증 오류"}
        if query.get("criteria") != ["messageId"] or query.get("cond") != ["eq"]:
            return 400, _error("ValidationError", "criteria")
        found = {}
        for message_id in query.get("value", []):
            message = self._messages.get(message_id)
            if message is not None:
                found[message_id] = {
                    "messageId": message_id,
                    "to": message["to"],
                    "from": message["from"],
                    "text": message["text"],
                    "country": "82",
                    "statusCode": self.report_code,
                    "reason": None,
                }
        return 200, {"startKey": None, "limit": 20, "messageList": found}

    def _group(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        failed, listed, charged, counts = [], [], 0, {"sms": 0, "lms": 0}
        for message in messages:
            with self._lock:
                self._seq += 1
                message_id = f"M4V20261201000000{self._seq:014d}"
            kind = "lms" if len(message["text"].encode("euc-kr", "replace")) > 90 else "sms"
            registered = (
                re.fullmatch(r"01\d{8,9}", message["to"])
                and message["from"] == SENDER
                and message["to"] not in self.unknown_numbers
            )
            if not registered:
                failed.append(
                    {
                        "to": message["to"],
                        "from": message["from"],
                        "type": kind.upper(),
                        "country": "82",
                        "messageId": message_id,
                        "statusCode": UNKNOWN_NUMBER_CODE,
                        "statusMessage": "수신번호 오류",
                        "accountId": "12925149",
                    }
                )
                continue
            self.sent.append(message)
            self._messages[message_id] = message
            counts[kind] += 1
            charged += SMS_PRICE if kind == "sms" else LMS_PRICE
            listed.append(
                {
                    "messageId": message_id,
                    "statusCode": "2000",
                    "statusMessage": "정상 접수(이통사로 접수 예정) ",
                }
            )
        group = {
            "count": {
                "total": len(messages),
                "sentTotal": 0,
                "sentFailed": 0,
                "sentSuccess": 0,
                "sentPending": 0,
                "sentReplacement": 0,
                "refund": 0,
                "registeredFailed": len(failed),
                "registeredSuccess": len(listed),
            },
            "countForCharge": {k: ({"82": n} if n else {}) for k, n in counts.items()},
            "balance": {"requested": 0, "replacement": 0, "refund": 0, "sum": 0},
            "point": {"requested": charged, "replacement": 0, "refund": 0, "sum": 0},
            "status": "SENDING" if listed else "FAILED",
            "groupId": f"G4V20261201000000{self._seq:014d}",
            "accountId": "12925149",
            "apiVersion": "4",
            "price": {},
        }
        return {"groupInfo": group, "failedMessageList": failed, "messageList": listed}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/messages/v4/send-many/detail":
                    status, headers, data = 404, {}, _error("NotFound", self.path)
                else:
                    status, headers, data = fake.answer(self.headers, body)
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/messages/v4/list":
                    status, data = 404, _error("NotFound", url.path)
                else:
                    status, data = fake.report(self.headers, parse_qs(url.query))
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _error(code: str, message: str) -> dict[str, str]:
    return {"errorCode": code, "errorMessage": message}
