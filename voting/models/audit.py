"""The officials' audit log: append-only, on PostgreSQL enforced by a trigger as well."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voting.models.polls import Poll


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("the audit log is append-only")

    def delete(self):
        raise TypeError("the audit log is append-only")


class AuditEntry(models.Model):
    """Append-only record of what officials did to polls: who, when, what changed.

    Rows are never updated or deleted (on PostgreSQL a trigger enforces it as well).
    """

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        EDIT = "edit", _("edited")
        PUBLISH = "publish", _("published")
        UNPUBLISH = "unpublish", _("unpublished")
        CLOSE = "close", _("closed early")
        PUBLISH_RESULTS = "publish_results", _("published results")
        DUPLICATE = "duplicate", _("duplicated")
        OUTCOME = "outcome", _("recorded the outcome")
        DELETE = "delete", _("deleted (draft)")
        # Moderation of what citizens write (proposals, comments).
        ACCEPT = "accept", _("accepted")
        REJECT = "reject", _("rejected")
        HIDE = "hide", _("hidden")
        UNHIDE = "unhide", _("shown again")

    class Subject(models.TextChoices):
        POLL = "poll", _("poll")
        PROPOSAL = "proposal", _("proposal")
        COMMENT = "comment", _("comment")

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True, editable=False)
    # No database constraints on the references: deleting an account or a draft must not
    # touch (update) an audit row.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("official"),
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        editable=False,
    )
    # Kept as text too, so the entry still says who after the account is gone.
    actor_name = models.CharField(_("official"), max_length=150, editable=False)
    poll = models.ForeignKey(
        Poll,
        verbose_name=_("poll"),
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_entries",
        editable=False,
    )
    # What the entry is about: a poll (``poll`` is set too), or a proposal or comment by id.
    subject_type = models.CharField(
        _("subject"), max_length=8, choices=Subject.choices, default=Subject.POLL, editable=False
    )
    subject_id = models.BigIntegerField(_("subject id"), null=True, editable=False)
    poll_title = models.CharField(_("title"), max_length=200, editable=False)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices, editable=False)
    changes = models.JSONField(_("changes"), default=dict, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.poll_title}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise TypeError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("the audit log is append-only")
