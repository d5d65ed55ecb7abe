"""Polls that citizens propose ("we ask"): support collected, then officials decide.

A proposal is ``open`` while it collects support until its deadline. When enough citizens support
it (``PROPOSAL_SUPPORT_THRESHOLD``) it goes to the officials' moderation queue (``under_review``),
where it is ``accepted`` (it becomes a draft poll) or ``rejected`` with a public reason. An open
proposal that misses its deadline is ``expired``. Hiding is separate from the status: officials
hide abusive text, whatever the status (``moderation``: the hidden fields and their rules).

``support_count`` is a counter kept in the same transaction as the ``Support`` rows (see
``proposals.services.support``); the unique constraint on ``Support`` is what decides "one support
per citizen".
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEntry
from core.images import validate_image
from core.media import CleanImageField
from moderation.models import Hideable

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_OPTION_LABEL = 200
MAX_REASON = 1000
MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_IMAGES = 3
MIN_DURATION_DAYS = 1
MAX_DURATION_DAYS = 30


class Proposal(Hideable):
    moderation_subject = AuditEntry.Subject.PROPOSAL

    class Status(models.TextChoices):
        OPEN = "open", _("collecting support")
        UNDER_REVIEW = "under_review", _("under review")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")
        EXPIRED = "expired", _("expired")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="proposals",
    )
    title = models.CharField(_("title"), max_length=MAX_TITLE)
    description = models.TextField(_("description"), max_length=MAX_DESCRIPTION)
    # NULL: for all of Seoul. Otherwise the author's own gu.
    district = models.ForeignKey(
        "districts.District",
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
        limit_choices_to={"level": "gu"},
    )
    duration_days = models.PositiveSmallIntegerField(
        _("suggested poll length (days)"),
        validators=[MinValueValidator(MIN_DURATION_DAYS), MaxValueValidator(MAX_DURATION_DAYS)],
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    support_deadline = models.DateTimeField(_("support deadline"))
    support_count = models.PositiveIntegerField(_("supporters"), default=0, editable=False)
    reached_threshold_at = models.DateTimeField(
        _("reached the threshold at"), null=True, blank=True
    )

    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rejection_reason = models.TextField(
        _("reason for rejection"),
        blank=True,
        max_length=MAX_REASON,
        help_text=_("Public: the author, supporters and every citizen read it."),
    )

    poll = models.ForeignKey(
        "voting.Poll",
        verbose_name=_("poll"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposals",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "support_deadline"]),
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["author", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    duration_days__gte=MIN_DURATION_DAYS, duration_days__lte=MAX_DURATION_DAYS
                ),
                name="proposal_duration_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(support_count__gte=0), name="proposal_support_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProposalOption(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(_("label"), max_length=MAX_OPTION_LABEL)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("proposed option")
        verbose_name_plural = _("proposed options")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class ProposalImage(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="images")
    # Citizens' photos: stripped of EXIF (GPS) and renamed on save (core/media.py).
    image = CleanImageField(_("image"), upload_to="proposals/%Y/%m/", validators=[validate_image])
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    alt = models.CharField(
        _("alt text"), max_length=200, help_text=_("What the image shows, for screen readers.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("proposal image")
        verbose_name_plural = _("proposal images")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt


class Support(models.Model):
    """A citizen's support of a proposal. Never shown to anyone but that citizen.

    Deleting an account deletes its supports; the proposal's counter keeps them, as the support
    was given (and may already have carried the proposal to review).
    """

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proposal_supports"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "user"], name="one_support_per_citizen")
        ]
        indexes = [models.Index(fields=["user", "proposal"])]

    def __str__(self) -> str:
        return f"support of proposal {self.proposal_id}"
