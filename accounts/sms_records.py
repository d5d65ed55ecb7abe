"""What became of each text sent through a real provider, and what it cost.

One row per text: queued when the request commits, then updated by each delivery attempt
(accounts/tasks.py): accepted with the provider's message id and charge, refused with the
provider's code, or given up after the retry bound or the code's lifetime; an accepted text
then becomes delivered or undelivered when the provider reports the carrier's verdict. The row
holds no phone number (a keyed hash, for "did this citizen's texts go out?") and never the text,
which holds the code.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.db import models
from django.db.models import Count, Sum
from django.utils.translation import gettext_lazy as _


def recipient_key(phone: str) -> str:
    """Keyed hash of a number, with a purpose of its own: an operator can look a citizen's texts
    up from their number (``recipient_key("+8210...")`` in a shell), a database reader cannot."""
    return hmac.new(
        settings.VOTER_KEY_SECRET.encode(), b"sms-delivery:" + phone.encode(), hashlib.sha256
    ).hexdigest()


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RETRYING = "retrying", _("waiting to retry")
    ACCEPTED = "accepted", _("accepted by the provider")
    DELIVERED = "delivered", _("delivered to the phone")
    UNDELIVERED = "undelivered", _("not delivered by the carrier")
    REFUSED = "refused", _("refused by the provider")
    GAVE_UP = "gave_up", _("given up")


class SMSDelivery(models.Model):
    provider = models.CharField(_("provider"), max_length=32)
    recipient = models.CharField(_("recipient (keyed hash)"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    provider_message_id = models.CharField(_("provider's message id"), max_length=64, blank=True)
    # The provider's own code for the last refusal or failure (e.g. a statusCode, TooManyRequests).
    error_code = models.CharField(_("provider's error code"), max_length=64, blank=True)
    kind = models.CharField(_("billed as"), max_length=16, blank=True)
    cost = models.DecimalField(_("cost (KRW)"), max_digits=10, decimal_places=2, default=0)
    queued_at = models.DateTimeField(_("queued at"), auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # When the provider reported the carrier's verdict (delivered or not).
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)

    class Meta:
        app_label = "accounts"
        verbose_name = _("text message delivery")
        verbose_name_plural = _("text message deliveries")
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["status", "queued_at"], name="sms_delivery_status_time")]

    def __str__(self) -> str:
        return f"{self.provider} #{self.pk} {self.status}"


class DeliveryTotals(TypedDict):
    by_status: dict[str, int]
    cost: Decimal
    attempts: int


def sms_delivery_totals(*, since: object = None) -> DeliveryTotals:
    """Texts by status, their summed cost (KRW) and attempts: what metrics and operators read.
    ``since`` (a datetime) limits it to texts queued from then on."""
    rows = SMSDelivery.objects.all()
    if since is not None:
        rows = rows.filter(queued_at__gte=since)
    by_status = {status: 0 for status in DeliveryStatus.values}
    for row in rows.values("status").annotate(n=Count("id")):
        by_status[row["status"]] = row["n"]
    sums = rows.aggregate(cost=Sum("cost"), attempts=Sum("attempts"))
    return {
        "by_status": by_status,
        "cost": sums["cost"] or Decimal(0),
        "attempts": sums["attempts"] or 0,
    }
