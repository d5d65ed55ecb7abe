"""SOLAPI (solapi.com), through its documented REST API, v4.

Why SOLAPI: a Korean provider (the texts go to Korean carriers with a registered sender number,
발신번호, as the law requires), a small documented HTTP API with HMAC-signed requests, and every
send answer carries what the group was charged, so the cost of each text is recorded without a
second call. Why not its Python SDK (``solapi``): it raises a bare ``Exception`` for every error
(no telling a rate limit from an invalid number, which the retry policy needs), sets no timeout,
and fixes the API's address; the protocol itself is five lines of HMAC.

The protocol (developers.solapi.com, "API Key 인증 방식", "메시지 발송"):

* ``Authorization: HMAC-SHA256 apiKey=<key>, date=<ISO 8601>, salt=<12-64 random bytes>,
  signature=<hex HMAC-SHA256(secret, date + salt)>``; a date more than 15 minutes off, or a
  signature used before, is refused, so every attempt signs anew.
* ``POST /messages/v4/send-many/detail`` with ``{"messages": [{"to", "from", "text"}]}``; the
  answer is ``{"groupInfo": {...}, "failedMessageList": [...], "messageList": [...]}``. A message
  the provider would not register (invalid number, unregistered sender) is in
  ``failedMessageList`` with its ``statusCode``; ``groupInfo.balance.requested`` and
  ``groupInfo.point.requested`` are what the group was charged.
* ``GET /messages/v4/list?criteria=messageId&cond=eq&value=<id>`` answers
  ``{"messageList": {<id>: {"statusCode", ...}}}``: ``4000`` is received by the phone, ``2000``
  (registered) and ``3000`` (handed to the carrier) are still on their way, any other code is the
  carrier's reason it was not delivered.
* Errors are ``{"errorCode", "errorMessage"}`` with a 4xx or 5xx status.

Nothing here logs a phone number or a text (the text holds the code).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.sms import BaseSMSBackend, SMSMessage
from accounts.sms_providers.base import Accepted, ProviderRefused, ProviderUnavailable

logger = logging.getLogger(__name__)

SEND_PATH = "/messages/v4/send-many/detail"
LIST_PATH = "/messages/v4/list"
DELIVERED_CODE = "4000"
PENDING_CODES = frozenset({"2000", "3000"})
PROVIDER = "solapi"


def authorization(*, api_key: str, api_secret: str, now: datetime | None = None) -> str:
    """The ``Authorization`` header value for one request."""
    date = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    salt = secrets.token_hex(16)  # 32 characters: inside the documented 12-64
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


def domestic(phone: str) -> str:
    """+821012345678 → 01012345678, the form SOLAPI's ``to`` takes (country 82 by default)."""
    if not phone.startswith("+82"):
        # normalize_phone admits Korean mobiles only; anything else is a programming error.
        raise ProviderRefused("UnsupportedCountry")
    return "0" + phone[3:]


class SolapiClient:
    """One ``send`` per text, each a signed POST; answers with :class:`Accepted` or raises."""

    def __init__(
        self, *, api_key: str, api_secret: str, sender: str, base_url: str, timeout: float
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> SolapiClient:
        missing = [
            name
            for name in ("SMS_API_KEY", "SMS_API_SECRET", "SMS_SENDER_NUMBER")
            if not getattr(settings, name, "")
        ]
        if missing:
            raise ImproperlyConfigured(f"the SOLAPI SMS backend needs {', '.join(missing)}")
        return cls(
            api_key=settings.SMS_API_KEY,
            api_secret=settings.SMS_API_SECRET,
            sender=settings.SMS_SENDER_NUMBER,
            base_url=settings.SMS_API_URL,
            timeout=settings.SMS_API_TIMEOUT,
        )

    def send(self, *, to: str, text: str) -> Accepted:
        body = {"messages": [{"to": domestic(to), "from": self.sender, "text": text}]}
        return _answer(self._request("POST", SEND_PATH, json=body))

    def report(self, *, message_id: str) -> Report:
        """The carrier's verdict on an accepted text, as far as the provider knows it."""
        params = {"criteria": "messageId", "cond": "eq", "value": message_id}
        data = _checked(self._request("GET", LIST_PATH, params=params))
        listed = data.get("messageList") if isinstance(data, dict) else None
        entry = listed.get(message_id) if isinstance(listed, dict) else None
        code = str(entry.get("statusCode") or "") if isinstance(entry, dict) else ""
        if code == DELIVERED_CODE:
            return Report(state="delivered", code=code)
        if not code or code in PENDING_CODES:
            return Report(state="pending", code=code)
        return Report(state="failed", code=code)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": authorization(api_key=self.api_key, api_secret=self.api_secret),
            "Content-Type": "application/json",
        }
        try:
            return httpx.request(
                method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise ProviderUnavailable("Timeout") from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailable(type(exc).__name__) from exc


@dataclass(frozen=True)
class Report:
    state: str  # "delivered", "failed" or "pending"
    code: str


def _checked(response: httpx.Response) -> Any:
    """The answer's JSON, or the error it carries raised as the delivery task understands it."""
    status = response.status_code
    data = _json(response)
    if status == 429:
        raise ProviderUnavailable(
            _error_code(data, "TooManyRequests"), retry_after=_retry_after(response)
        )
    if status >= 500:
        raise ProviderUnavailable(_error_code(data, f"HTTP{status}"))
    if status in (401, 402, 403):
        # Credentials, clock or balance: no text goes out until an operator acts.
        raise ProviderRefused(_error_code(data, f"HTTP{status}"), alert=True)
    if status >= 400:
        raise ProviderRefused(_error_code(data, f"HTTP{status}"))
    return data


def _answer(response: httpx.Response) -> Accepted:
    data = _checked(response)
    if not isinstance(data, dict) or not isinstance(data.get("groupInfo"), dict):
        # 2xx with a body we cannot read: it may have been sent, so never resend blindly.
        raise ProviderRefused("UnreadableAnswer", alert=True)
    failed = data.get("failedMessageList") or []
    if failed:
        first = failed[0] if isinstance(failed[0], dict) else {}
        raise ProviderRefused(str(first.get("statusCode") or "RegistrationFailed"))
    group: dict[str, Any] = data["groupInfo"]
    listed = data.get("messageList") or []
    message_id = ""
    if listed and isinstance(listed[0], dict):
        message_id = str(listed[0].get("messageId") or "")
    return Accepted(
        message_id=message_id or str(group.get("groupId") or ""),
        cost=_charged(group),
        kind=_kind(group),
    )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_code(data: Any, default: str) -> str:
    if isinstance(data, dict) and data.get("errorCode"):
        return str(data["errorCode"])
    return default


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _charged(group: dict[str, Any]) -> Decimal:
    total = Decimal(0)
    for purse in ("balance", "point"):
        amounts = group.get(purse)
        if not isinstance(amounts, dict):
            continue
        try:
            total += Decimal(str(amounts.get("requested") or 0))
        except InvalidOperation:
            logger.warning("sms provider answered an unreadable %s amount", purse)
    return total


def _kind(group: dict[str, Any]) -> str:
    counts = group.get("countForCharge")
    if not isinstance(counts, dict):
        return ""
    for kind, per_country in counts.items():
        if isinstance(per_country, dict) and any(per_country.values()):
            return str(kind).upper()
    return ""


class SolapiSMSBackend(BaseSMSBackend):
    """``SMS_BACKEND`` for SOLAPI: queues each text for the delivery task and returns at once.

    The request that asked for a code never waits for the provider; a text is queued when the
    request's transaction commits (a rolled-back sign-up sends nothing). Settings are checked
    here, so a misconfigured server fails on its first text, loudly, not in a worker later.
    """

    def __init__(self, fail_silently: bool = False, **kwargs: object) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        SolapiClient.from_settings()

    def send_messages(self, messages: Sequence[SMSMessage]) -> int:
        from accounts import sms_queue

        return sms_queue.enqueue(messages=messages, provider=PROVIDER)
