"""Comments on polls (and citizen proposals): one level of replies, likes and reports.

Nothing here points at a participation or a ballot: a comment cannot say how, or whether, its
author voted. Authors are shown by a per-thread pseudonym (see ``discussion.pseudonyms``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEntry
from moderation.models import Hideable

MAX_NOTE = 500


class Comment(Hideable):
    moderation_subject = AuditEntry.Subject.COMMENT

    poll = models.ForeignKey(
        "voting.Poll",
        verbose_name=_("poll"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="comments",
    )
    proposal = models.ForeignKey(
        "proposals.Proposal",
        verbose_name=_("proposal"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="comments",
    )
    # A comment is about exactly one thing: a poll or a proposal (checked by the database).
    parent = models.ForeignKey(
        "self",
        verbose_name=_("reply to"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="comments",
    )
    body = models.TextField(_("text"), blank=True)
    created_at = models.DateTimeField(_("written at"), default=timezone.now, editable=False)
    # Set when the author deleted a comment that has replies: the row stays as a placeholder
    # so the replies keep their thread; its text and author are gone.
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    like_count = models.PositiveIntegerField(_("likes"), default=0, editable=False)
    report_count = models.PositiveIntegerField(_("reports"), default=0, editable=False)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(poll__isnull=False, proposal__isnull=True)
                | Q(poll__isnull=True, proposal__isnull=False),
                name="comment_has_one_subject",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="comment_not_its_own_parent"
            ),
        ]
        indexes = [
            models.Index(fields=["poll", "parent", "created_at"]),
            models.Index(fields=["proposal", "parent", "created_at"]),
            models.Index(fields=["parent", "created_at"]),
            models.Index(fields=["-report_count", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.body[:80] if self.body else f"comment #{self.pk}"

    def moderation_title(self) -> str:
        return self.body[:80]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class CommentLike(models.Model):
    """One citizen's like. The unique constraint, not a lookup, keeps it to one per citizen."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")
    # SET_NULL: a deleted account's likes stay counted, so ``like_count`` stays exact.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("like")
        verbose_name_plural = _("likes")
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="one_like_per_citizen")
        ]
        indexes = [models.Index(fields=["user", "comment"])]

    def __str__(self) -> str:
        return f"like of comment {self.comment_id}"


class CommentReport(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", _("spam or advertising")
        ABUSE = "abuse", _("abusive or hateful")
        PERSONAL_DATA = "personal_data", _("reveals personal data")
        OTHER = "other", _("other")

    comment = models.ForeignKey(
        Comment, verbose_name=_("comment"), on_delete=models.CASCADE, related_name="reports"
    )
    # SET_NULL: the report stays as moderation evidence after the reporter's account is gone.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=13, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=MAX_NOTE, blank=True)
    created_at = models.DateTimeField(_("reported at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"], name="one_report_per_citizen")
        ]

    def __str__(self) -> str:
        return f"report of comment {self.comment_id}: {self.reason}"
