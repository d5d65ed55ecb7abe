"""The call centre's records: identifications of callers, visit-verified PINs, operators' alerts.

Nothing here holds a choice, a phone number or a code in clear: codes and PINs are kept as keyed
hashes (assisted/codes.py), the caller is the account they proved to be.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assisted import conf


class Identification(models.Model):
    """One operator's proof, for one poll, that the caller is a given citizen.

    By SMS: a code is texted to the citizen's number and the operator types what the caller reads
    back (``expires_at``, at most ``ASSISTED_CODE_ATTEMPTS`` tries, used once). By a visit PIN:
    verified at once. Only the operator who started it may use it; ``cast_at`` is when the ballot
    was cast through it (what the operators' rate limit and alerts count).
    """

    class Method(models.TextChoices):
        SMS = "sms", _("text message code")
        PIN = "pin", _("visit-verified PIN")

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("citizen"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    poll = models.ForeignKey(
        "voting.Poll", verbose_name=_("poll"), on_delete=models.CASCADE, related_name="+"
    )
    method = models.CharField(_("method"), max_length=8, choices=Method.choices)
    code_hash = models.CharField(max_length=128, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong codes"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    cast_at = models.DateTimeField(_("ballot cast at"), null=True, blank=True)

    class Meta:
        verbose_name = _("caller identification")
        verbose_name_plural = _("caller identifications")
        permissions = [("assist_callers", _("Can cast ballots on callers' behalf (call centre)"))]
        indexes = [models.Index(fields=["cast_at", "operator"])]

    def __str__(self) -> str:
        return f"identification {self.pk}"


class VisitPinQuerySet(models.QuerySet["VisitPin"]):
    def usable(self) -> "VisitPinQuerySet":
        return self.filter(
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            failed_attempts__lt=conf.get("ASSISTED_CODE_ATTEMPTS"),
        )


class VisitPin(models.Model):
    """A PIN an official gave a citizen after checking their identity in person, for callers
    without a mobile phone (docs/walkthroughs/assisted.md says why not a relative's number).

    One usable PIN per citizen (issuing a new one revokes the old); the name is the one on the ID
    document checked, which the operator asks for with the PIN. Only a keyed hash of the PIN is
    kept: it is shown once, to the official who prints it for the citizen.
    """

    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("citizen"),
        on_delete=models.CASCADE,
        related_name="visit_pins",
    )
    name = models.CharField(_("name on the ID document"), max_length=100, db_index=True)
    place = models.CharField(_("where the identity was checked"), max_length=200)
    pin_hash = models.CharField(max_length=128, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    failed_attempts = models.PositiveSmallIntegerField(_("wrong PINs"), default=0, editable=False)

    objects = VisitPinQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit-verified PIN")
        verbose_name_plural = _("visit-verified PINs")
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"PIN {self.pk} (citizen #{self.citizen_id})"


class OperatorAlert(models.Model):
    """An operator cast far more assisted ballots in an hour than the centre's median."""

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    ballots_last_hour = models.PositiveIntegerField(_("ballots in the last hour"))
    centre_median = models.FloatField(_("centre's median"))

    class Meta:
        verbose_name = _("operator alert")
        verbose_name_plural = _("operator alerts")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.operator} {self.at:%Y-%m-%d %H:%M}"
