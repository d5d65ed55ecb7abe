"""Firebase Cloud Messaging, HTTP v1: ``POST {FCM_ENDPOINT}/v1/projects/{project}/messages:send``,
one request per device token, authorised by an OAuth 2.0 access token that ``google-auth``
obtains from the service account's ``token_uri`` (the JWT bearer grant) and reuses until it
nears expiry.

What each error means (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode):

* ``UNREGISTERED`` (404), or ``INVALID_ARGUMENT`` (400) reported as an ``FcmError`` detail (the
  token itself is malformed): the device is retired. A 400 whose detail is only a
  ``google.rpc.BadRequest`` field violation is about our message, not the token: it is dropped
  and logged, never retired, so a payload bug cannot wipe every device. A 404 without the
  ``UNREGISTERED`` code (a wrong project id) retires nothing either: it is retried.
* ``QUOTA_EXCEEDED`` (429), ``UNAVAILABLE`` (503), ``INTERNAL`` (500): :class:`PushError`, with
  the Retry-After FCM sent; the outbox retries the batch.
* 401 without an FCM code (our access token expired or was revoked): a new token, the send once
  more. ``THIRD_PARTY_AUTH_ERROR`` (the APNs credentials in the Firebase console) and 403
  ``PERMISSION_DENIED``: configuration for an operator to fix, retried until it is.
* ``SENDER_ID_MISMATCH`` (403): the token belongs to another Firebase project; dropped, logged.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from google.oauth2 import service_account

from notifications.push import BasePushBackend, PushError, PushMessage
from notifications.push_providers import common
from notifications.push_providers.common import Outcome, Result

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

# One credentials object per service account file and process: its access token (an hour's
# life) serves every batch until google-auth sees it near expiry.
_credentials: dict[str, service_account.Credentials] = {}
_lock = threading.Lock()


def credentials(path: str) -> service_account.Credentials:
    with _lock:
        if path not in _credentials:
            try:
                _credentials[path] = service_account.Credentials.from_service_account_file(
                    path, scopes=[SCOPE]
                )
            except (OSError, ValueError) as exc:
                raise ImproperlyConfigured(
                    f"FCM_SERVICE_ACCOUNT_FILE is not a readable service account key: {exc}"
                ) from exc
        return _credentials[path]


def access_token(creds: service_account.Credentials, *, rejected: str | None = None) -> str:
    """A valid access token: the cached one, or a new one when it is near expiry or FCM has
    just ``rejected`` it (unless another thread already replaced that one)."""
    with _lock:
        if not creds.valid or (rejected is not None and creds.token == rejected):
            try:
                creds.refresh(google.auth.transport.requests.Request())
            except google.auth.exceptions.GoogleAuthError as exc:
                # The token endpoint is down or refused the key: nothing can be sent now.
                raise PushError(f"fcm: no access token ({type(exc).__name__})") from exc
        return str(creds.token)


def payload(message: PushMessage, token: str, *, ttl: int) -> dict[str, Any]:
    tag = common.collapse_id(message.key)
    return {
        "message": {
            "token": token,
            "notification": {"title": message.title, "body": message.body},
            "data": dict(message.data),
            "android": {
                "collapse_key": tag,
                "ttl": f"{ttl}s",
                "notification": {"tag": tag},
            },
            # iOS apps that take their pushes through FCM: FCM passes these headers to APNs.
            "apns": {"headers": {"apns-collapse-id": tag}},
        }
    }


def classify(token: str, response: httpx.Response) -> Result:
    """What FCM's answer to one send means for the token and the batch."""
    status = response.status_code
    if status == 200:
        return Result(token, Outcome.SENT)
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}  # not FCM's JSON (a proxy's error page): judged by the status alone
    if not isinstance(error, dict):
        error = {}
    details = error.get("details", [])
    if not isinstance(details, list):
        details = []
    codes = {
        detail.get("errorCode")
        for detail in details
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR
    }
    code = next(iter(sorted(c for c in codes if c)), "") or str(error.get("status") or status)
    if "UNREGISTERED" in codes or (status == 400 and "INVALID_ARGUMENT" in codes):
        return Result(token, Outcome.DEAD, code)
    if status == 401 and not codes:
        return Result(token, Outcome.REAUTH, code)
    if status == 429 or status >= 500:
        return Result(token, Outcome.RETRY, code, common.retry_after(response))
    if status in (401, 403, 404) and "SENDER_ID_MISMATCH" not in codes:
        return Result(token, Outcome.RETRY, code)  # our configuration: retried once fixed
    return Result(token, Outcome.DROPPED, code)


class FCMPushBackend(BasePushBackend):
    """Sends through FCM HTTP v1 (Android devices, or every device when the iOS app also
    registers FCM tokens)."""

    def __init__(
        self,
        *,
        service_account_file: str | None = None,
        project_id: str | None = None,
        endpoint: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        path = service_account_file or settings.FCM_SERVICE_ACCOUNT_FILE
        if not path:
            raise ImproperlyConfigured("FCM push needs FCM_SERVICE_ACCOUNT_FILE.")
        self.credentials = credentials(path)
        project = project_id or settings.FCM_PROJECT_ID or self.credentials.project_id
        if not project:
            raise ImproperlyConfigured("FCM push needs FCM_PROJECT_ID (or a key that names it).")
        base = (endpoint or settings.FCM_ENDPOINT).rstrip("/")
        self.url = f"{base}/v1/projects/{project}/messages:send"

    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        pairs = common.sends(messages)
        if not pairs:
            return 0
        token = access_token(self.credentials)
        results = common.run(lambda: self._send(pairs, token))
        again = [i for i, result in enumerate(results) if result.outcome is Outcome.REAUTH]
        if again:
            token = access_token(self.credentials, rejected=token)
            redone = common.run(lambda: self._send([pairs[i] for i in again], token))
            for i, result in zip(again, redone, strict=True):
                if result.outcome is Outcome.REAUTH:  # a fresh token refused too
                    result = Result(result.token, Outcome.RETRY, result.code)
                results[i] = result
        _log(results)
        return common.settle(results, provider="fcm", dead_tokens=self.dead_tokens)

    async def _send(self, pairs: list[tuple[PushMessage, str]], token: str) -> list[Result]:
        ttl = settings.PUSH_TTL_SECONDS
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        async with common.client() as http:

            async def one(message: PushMessage, device: str) -> Result:
                body = json.dumps(payload(message, device, ttl=ttl), ensure_ascii=False)
                try:
                    response = await http.post(self.url, content=body.encode(), headers=headers)
                except httpx.HTTPError as exc:
                    return Result(device, Outcome.RETRY, type(exc).__name__)
                return classify(device, response)

            calls = [functools.partial(one, m, d) for m, d in pairs]
            return await common.gather_limited(calls, limit=settings.PUSH_CONCURRENCY)


def _log(results: list[Result]) -> None:
    """Counts and provider codes only: never a token, never the text."""
    outcomes = Counter(result.outcome.value for result in results)
    codes = Counter(result.code for result in results if result.outcome is not Outcome.SENT)
    level = logging.WARNING if codes else logging.INFO
    logger.log(level, "push provider=fcm %s codes=%s", dict(outcomes), dict(codes))
