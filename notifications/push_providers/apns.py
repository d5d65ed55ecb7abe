"""The Apple Push Notification service, token-based: ``POST {endpoint}/3/device/{token}`` over
HTTP/2 (Apple's only protocol), authorised by a provider token, an ES256 JWT signed with the
team's .p8 key (header ``kid``: the key id; claims ``iss``: the team id, ``iat``).

Apple rejects a provider token older than an hour (``ExpiredProviderToken``) and one renewed more
often than every 20 minutes (``TooManyProviderTokenUpdates``), so one token per key and process
is reused for :data:`TOKEN_LIFETIME` and renewed after it, or at once when Apple calls it expired
(then the refused sends go once more).

Answers (Apple's "Handling notification responses from APNs"): 410 ``Unregistered`` /
``ExpiredToken`` and 400 ``BadDeviceToken``: the device is retired. 429 ``TooManyRequests``,
500 ``InternalServerError``, 503 ``ServiceUnavailable`` / ``Shutdown``: :class:`PushError`, the
outbox retries. Other 403s (``InvalidProviderToken``...): our configuration, retried until an
operator fixes it. Other 400s and 413 (``DeviceTokenNotForTopic``, ``PayloadTooLarge``...):
dropped and logged, never retired.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.push import BasePushBackend, PushMessage
from notifications.push_providers import common
from notifications.push_providers.common import Outcome, Result

logger = logging.getLogger(__name__)

PRODUCTION = "https://api.push.apple.com"
SANDBOX = "https://api.sandbox.push.apple.com"
TOKEN_LIFETIME = 50 * 60  # seconds: under Apple's hour, over its 20-minute minimum

_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def provider_token(*, key_file: str, key_id: str, team_id: str, rejected: str | None = None) -> str:
    """The provider token for this key: the cached one while younger than
    :data:`TOKEN_LIFETIME`, else (or when Apple has just ``rejected`` it) a new one."""
    cache_key = (key_file, key_id, team_id)
    with _lock:
        now = time.time()
        cached = _tokens.get(cache_key)
        if cached is not None and now - cached[1] < TOKEN_LIFETIME and cached[0] != rejected:
            return cached[0]
        try:
            key = Path(key_file).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(f"APNS_KEY_FILE cannot be read: {exc}") from exc
        token = jwt.encode(
            {"iss": team_id, "iat": int(now)}, key, algorithm="ES256", headers={"kid": key_id}
        )
        _tokens[cache_key] = (token, now)
        return token


def payload(message: PushMessage) -> dict[str, Any]:
    # The app's own keys sit beside "aps", which is Apple's.
    extra = {key: value for key, value in message.data.items() if key != "aps"}
    return {
        "aps": {"alert": {"title": message.title, "body": message.body}, "sound": "default"},
        **extra,
    }


def classify(token: str, response: httpx.Response) -> Result:
    """What Apple's answer to one send means for the token and the batch."""
    status = response.status_code
    if status == 200:
        return Result(token, Outcome.SENT)
    try:
        reason = str(response.json().get("reason", "")) or str(status)
    except (ValueError, AttributeError):
        reason = str(status)
    if status == 410 or reason == "BadDeviceToken":
        return Result(token, Outcome.DEAD, reason)
    if status == 403 and reason == "ExpiredProviderToken":
        return Result(token, Outcome.REAUTH, reason)
    if status in (429, 403) or status >= 500:
        return Result(token, Outcome.RETRY, reason, common.retry_after(response))
    return Result(token, Outcome.DROPPED, reason)


class APNsPushBackend(BasePushBackend):
    """Sends to iOS devices through APNs with a token-based (.p8) connection."""

    def __init__(self, *, endpoint: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        missing = [
            name
            for name in ("APNS_KEY_FILE", "APNS_KEY_ID", "APNS_TEAM_ID", "APNS_TOPIC")
            if not getattr(settings, name)
        ]
        if missing:
            raise ImproperlyConfigured(f"APNs push needs {', '.join(missing)}.")
        self.key_file: str = settings.APNS_KEY_FILE
        self.key_id: str = settings.APNS_KEY_ID
        self.team_id: str = settings.APNS_TEAM_ID
        self.topic: str = settings.APNS_TOPIC
        default = SANDBOX if settings.APNS_USE_SANDBOX else PRODUCTION
        self.endpoint = (endpoint or settings.APNS_ENDPOINT or default).rstrip("/")

    def _token(self, rejected: str | None = None) -> str:
        return provider_token(
            key_file=self.key_file, key_id=self.key_id, team_id=self.team_id, rejected=rejected
        )

    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        pairs = common.sends(messages)
        if not pairs:
            return 0
        token = self._token()
        results = common.run(lambda: self._send(pairs, token))
        again = [i for i, result in enumerate(results) if result.outcome is Outcome.REAUTH]
        if again:
            token = self._token(rejected=token)
            redone = common.run(lambda: self._send([pairs[i] for i in again], token))
            for i, result in zip(again, redone, strict=True):
                if result.outcome is Outcome.REAUTH:  # a fresh token refused too
                    result = Result(result.token, Outcome.RETRY, result.code)
                results[i] = result
        _log(results)
        return common.settle(results, provider="apns", dead_tokens=self.dead_tokens)

    async def _send(self, pairs: list[tuple[PushMessage, str]], token: str) -> list[Result]:
        expires = int(time.time()) + settings.PUSH_TTL_SECONDS
        async with common.client(http1=False) as http:

            async def one(message: PushMessage, device: str) -> Result:
                headers = {
                    "authorization": f"bearer {token}",
                    "apns-topic": self.topic,
                    "apns-push-type": "alert",
                    "apns-priority": "10",
                    "apns-collapse-id": common.collapse_id(message.key),
                    "apns-expiration": str(expires),
                    "content-type": "application/json",
                }
                body = json.dumps(payload(message), ensure_ascii=False).encode()
                try:
                    response = await http.post(
                        f"{self.endpoint}/3/device/{device}", content=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    return Result(device, Outcome.RETRY, type(exc).__name__)
                return classify(device, response)

            calls = [functools.partial(one, m, d) for m, d in pairs]
            return await common.gather_limited(calls, limit=settings.PUSH_CONCURRENCY)


def _log(results: list[Result]) -> None:
    """Counts and Apple's reasons only: never a token, never the text."""
    outcomes = Counter(result.outcome.value for result in results)
    reasons = Counter(result.code for result in results if result.outcome is not Outcome.SENT)
    level = logging.WARNING if reasons else logging.INFO
    logger.log(level, "push provider=apns %s reasons=%s", dict(outcomes), dict(reasons))
