"""How a ballot reached the box, and who may see a private poll.

- ``Channel``: the app (the citizen's own phone), ``assisted`` (cast by call-centre staff on the
  caller's behalf, after identifying them), ``onsite`` (scanned at an official's on-site session).
  It is recorded on the participation and sealed in the envelope, so the breakdowns can show who
  was reached how; never on the board's ballots.
- ``OnsiteSession``: an official's booth for one poll at one place and time window; its secret
  signs the rotating QR tokens (the ``onsite`` app).
- ``PollInvitation``: a single-use code that opens a private poll to whoever redeems it.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    APP = "app", _("app")
    ASSISTED = "assisted", _("assisted (call centre)")
    ONSITE = "onsite", _("on site")


def new_secret() -> str:
    return secrets.token_hex(32)


class OnsiteSession(models.Model):
    poll = models.ForeignKey(
        "voting.Poll",
        verbose_name=_("poll"),
        on_delete=models.PROTECT,
        related_name="onsite_sessions",
    )
    place = models.CharField(_("place"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    # Optional: the app sends its position; it is checked against this circle and discarded.
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    radius_m = models.PositiveIntegerField(_("radius (m)"), null=True, blank=True)
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("on-site session")
        verbose_name_plural = _("on-site sessions")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="onsite_session_ends_after_start",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(latitude__isnull=True, longitude__isnull=True, radius_m__isnull=True)
                    | models.Q(
                        latitude__isnull=False, longitude__isnull=False, radius_m__isnull=False
                    )
                ),
                name="onsite_session_whole_circle_or_none",
            ),
        ]

    def __str__(self) -> str:
        return self.place


class PollInvitation(models.Model):
    """One code, one citizen. Only a keyed hash of the code is kept (like receipts), so a
    database reader cannot redeem a code; officials see each code once, when it is made."""

    poll = models.ForeignKey(
        "voting.Poll",
        verbose_name=_("poll"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    lookup = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("redeemed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="poll_invitations",
    )
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["redeemed_by", "poll"])]

    def __str__(self) -> str:
        return self.label or f"invitation {self.pk}"
