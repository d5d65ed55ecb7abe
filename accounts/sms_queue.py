"""Texts through the task queue: queued on commit, sent by a worker, retried with backoff.

A citizen's request never waits for the provider: :func:`enqueue` writes a delivery row
(accounts/sms_records.py) in the request's transaction and, once it commits, hands the task
(accounts/tasks.py ``deliver_sms``) the row's id and the number and text **sealed** (Fernet,
keyed from ``SECRET_KEY``, valid ``SMS_DELIVERY_DEADLINE_SECONDS``): the broker (Redis) never
holds a phone number or a code in clear, and a text that could not go out while its code was
alive is never sent late.

Retry policy (:func:`retry_delay`, :func:`attempt`): rate limited (429, honouring its
``Retry-After``), an outage (5xx), a timeout or a refused connection are tried again after
``SMS_RETRY_BASE_SECONDS`` × 2^n (capped at ``SMS_RETRY_CAP_SECONDS``, plus up to 25% jitter so
texts refused together do not return together), at most ``SMS_RETRY_MAX`` times and never past
the deadline; then the text is given up. A refusal (invalid number, bad credentials, no
balance) is final at once. Every outcome is on the row; the logs carry the row's id and the
provider's code, never the number or the text.

An accepted text is then followed up (:func:`check_report`, at ``REPORT_CHECKS``): when the
provider knows the carrier's verdict, the row becomes delivered or undelivered (with the code).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.sms import SMSMessage
from accounts.sms_providers.base import ProviderRefused, ProviderUnavailable
from accounts.sms_records import DeliveryStatus, SMSDelivery, recipient_key

logger = logging.getLogger(__name__)

CLIENTS = {"solapi": "accounts.sms_providers.solapi.SolapiClient"}
# Everything but queued and retrying: the text went out, or never will.
FINAL = frozenset(DeliveryStatus.values) - {DeliveryStatus.QUEUED, DeliveryStatus.RETRYING}
# When to ask the provider for the carrier's verdict, in seconds after the previous question:
# most texts arrive within seconds, a phone that is off gets them when it comes back.
REPORT_CHECKS = (30.0, 60.0, 120.0, 300.0, 600.0)


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"sms-queue:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(*, to: str, text: str) -> str:
    return _fernet().encrypt(json.dumps([to, text]).encode()).decode()


def unseal(sealed: str) -> tuple[str, str]:
    """The number and the text; :class:`InvalidToken` once the deadline has passed."""
    raw = _fernet().decrypt(sealed.encode(), ttl=settings.SMS_DELIVERY_DEADLINE_SECONDS)
    to, text = json.loads(raw)
    return str(to), str(text)


def enqueue(*, messages: Sequence[SMSMessage], provider: str) -> int:
    """Record and queue each message; the task starts when the current transaction commits."""
    for message in messages:
        row = SMSDelivery.objects.create(provider=provider, recipient=recipient_key(message.to))
        sealed = seal(to=message.to, text=message.body)
        transaction.on_commit(partial(_dispatch, row.pk, sealed))
    return len(messages)


def _dispatch(delivery_id: int, sealed: str) -> None:
    from accounts.tasks import deliver_sms

    try:
        deliver_sms.delay(delivery_id, sealed)
    except Exception as exc:
        # The broker is down: the request has committed, so answer it and say so loudly.
        logger.error("sms not queued: delivery=%s error=%s", delivery_id, type(exc).__name__)
        SMSDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.GAVE_UP, error_code="QueueUnavailable", finished_at=timezone.now()
        )


def retry_delay(*, retries: int, retry_after: float | None = None) -> float:
    """Seconds before retry number ``retries + 1``."""
    backoff = min(settings.SMS_RETRY_CAP_SECONDS, settings.SMS_RETRY_BASE_SECONDS * 2**retries)
    backoff *= 1 + random.uniform(0, 0.25)
    return max(backoff, retry_after or 0.0)


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None
    # This attempt, not an earlier one, brought the text to its state.
    just_finished: bool = False


def attempt(*, delivery_id: int, sealed: str, retries: int) -> Outcome:
    """One delivery attempt; ``retry_in`` says when the task should run again, if ever."""
    row = SMSDelivery.objects.filter(pk=delivery_id).first()
    if row is None or row.status in FINAL:
        # A redelivered task (a worker died after sending): never send a text twice.
        return Outcome(status=row.status if row else "missing")
    now = timezone.now()
    try:
        to, text = unseal(sealed)
    except InvalidToken:
        logger.error("sms given up, its code expired: delivery=%s", row.pk)
        return _finish(row, DeliveryStatus.GAVE_UP, error_code=row.error_code or "Expired")
    client = import_string(CLIENTS[row.provider]).from_settings()
    row.attempts += 1
    row.last_attempt_at = now
    try:
        accepted = client.send(to=to, text=text)
    except ProviderRefused as refusal:
        log = logger.critical if refusal.alert else logger.warning
        log("sms refused by the provider: delivery=%s error=%s", row.pk, refusal.code)
        return _finish(row, DeliveryStatus.REFUSED, error_code=refusal.code)
    except ProviderUnavailable as failure:
        return _failed(row, failure, retries=retries, now=now)
    row.provider_message_id = accepted.message_id[:64]
    row.cost = accepted.cost
    row.kind = accepted.kind[:16]
    row.error_code = ""
    return _finish(row, DeliveryStatus.ACCEPTED)


def _failed(row: SMSDelivery, failure: ProviderUnavailable, *, retries: int, now) -> Outcome:
    row.error_code = failure.code
    delay = retry_delay(retries=retries, retry_after=failure.retry_after)
    deadline = row.queued_at.timestamp() + settings.SMS_DELIVERY_DEADLINE_SECONDS
    if retries >= settings.SMS_RETRY_MAX or now.timestamp() + delay > deadline:
        logger.error(
            "sms given up after %d attempts: delivery=%s error=%s",
            row.attempts,
            row.pk,
            failure.code,
        )
        return _finish(row, DeliveryStatus.GAVE_UP, error_code=failure.code)
    logger.warning(
        "sms retry in %.0fs: delivery=%s attempt=%d error=%s",
        delay,
        row.pk,
        row.attempts,
        failure.code,
    )
    row.status = DeliveryStatus.RETRYING
    row.save()
    return Outcome(status=row.status, retry_in=delay)


def _finish(row: SMSDelivery, status: str, *, error_code: str | None = None) -> Outcome:
    row.status = status
    if error_code is not None:
        row.error_code = error_code
    row.finished_at = timezone.now()
    row.save()
    return Outcome(status=status, just_finished=True)


def check_report(*, delivery_id: int, checks: int) -> Outcome:
    """Ask the provider whether an accepted text reached the phone; ``retry_in`` says when to
    ask again (the text is still on its way), at most ``len(REPORT_CHECKS)`` times."""
    row = SMSDelivery.objects.filter(pk=delivery_id).first()
    if row is None or row.status != DeliveryStatus.ACCEPTED or not row.provider_message_id:
        return Outcome(status=row.status if row else "missing")
    client = import_string(CLIENTS[row.provider]).from_settings()
    try:
        report = client.report(message_id=row.provider_message_id)
    except ProviderRefused as refusal:
        logger.error("sms report refused: delivery=%s error=%s", row.pk, refusal.code)
        return Outcome(status=row.status)
    except ProviderUnavailable:
        report = None  # ask again at the next check
    if report is not None and report.state != "pending":
        row.status = (
            DeliveryStatus.DELIVERED if report.state == "delivered" else DeliveryStatus.UNDELIVERED
        )
        row.error_code = "" if report.state == "delivered" else report.code[:64]
        row.reported_at = timezone.now()
        row.save(update_fields=["status", "error_code", "reported_at"])
        return Outcome(status=row.status)
    if checks + 1 < len(REPORT_CHECKS):
        return Outcome(status=row.status, retry_in=REPORT_CHECKS[checks + 1])
    return Outcome(status=row.status)
