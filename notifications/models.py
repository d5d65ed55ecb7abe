"""The outbox of events worth telling citizens about, their inboxes, and what they opted out of.

An ``OutboxEvent`` is written in the same transaction as what it announces (a poll published, an
outcome recorded, a proposal decided). Workers then fan it out into ``Notification`` rows (the
inbox, one per citizen, unique per event) and push each row once to the citizen's devices. Both
steps keep their progress in these tables, so a worker killed at any point is resumed by the next
one without losing or repeating anything (see ``notifications/delivery.py``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    POLL_OPENED = "poll_opened", _("a poll for me opened")
    POLL_CLOSING = "poll_closing", _("a poll I have not voted in closes soon")
    OUTCOME = "outcome", _("the outcome of a poll I voted in")
    PROPOSAL = "proposal", _("news of proposals I made or supported")


class OutboxEvent(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The poll (poll_* and outcome) or the proposal (proposal) the event is about.
    subject_id = models.BigIntegerField(_("subject id"))
    # One event per happening, whoever or whatever notices it first (a request, the clock scan).
    dedupe_key = models.CharField(max_length=100, unique=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Fan-out progress: every recipient with an id up to ``cursor`` has their inbox row.
    cursor = models.BigIntegerField(default=0)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    fanned_out_at = models.DateTimeField(_("fanned out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification event")
        verbose_name_plural = _("notification events")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(fanned_out_at__isnull=True),
                name="outbox_pending_fanout",
            )
        ]

    def __str__(self) -> str:
        return self.dedupe_key


class Notification(models.Model):
    """One citizen's copy of an event: their inbox entry, and the push it is delivered as."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="one_notification_per_event")
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_inbox"),
            models.Index(
                fields=["event", "id"],
                condition=models.Q(pushed_at__isnull=True),
                name="notification_unpushed",
            ),
        ]

    def __str__(self) -> str:
        return f"notification {self.pk}"


class OptOut(models.Model):
    """A kind of notification a citizen does not want. No row: they get it (the default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_opt_outs"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_opt_out_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} opts out of {self.kind}"


class Device(models.Model):
    """A phone that receives pushes: the token the push provider gave the app."""

    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices"
    )
    token = models.CharField(max_length=255, unique=True)
    platform = models.CharField(max_length=8, choices=Platform.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self) -> str:
        return f"{self.platform} device of {self.user_id}"
