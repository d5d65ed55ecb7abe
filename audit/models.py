"""The officials' audit log: append-only, hash-chained with a server key (audit/chain.py).

On PostgreSQL a trigger refuses UPDATE and DELETE, and the server's database role has neither
right on the table nor TRUNCATE (``manage.py db_roles``); whoever gets past that (the owner, a
superuser) cannot recompute the chain without ``AUDIT_CHAIN_KEY``: ``manage.py verify_audit``
names the first entry edited, removed, inserted or moved.
"""

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("the audit log is append-only")

    def delete(self) -> NoReturn:
        raise TypeError("the audit log is append-only")


class AuditEntry(models.Model):
    """Append-only record of what officials did: who, when, to what, what changed.

    Rows are never updated or deleted (on PostgreSQL a trigger enforces it as well), and only
    ``audit.chain.append`` writes them: it numbers and chains each entry. The subject is neutral
    (a type, an id, a title as it was): the log outlives what it names and references no table.
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
        # Officials' powers over citizens (accounts/officials.py: one asks, a second decides).
        # A citizen's title is "citizen #<id>", never a phone; values in changes are masked.
        REQUEST_VERIFICATION = "request_verification", _("asked for resident verification")
        APPROVE_VERIFICATION = "approve_verification", _("approved resident verification")
        REJECT_VERIFICATION = "reject_verification", _("refused resident verification")
        REQUEST_CHANGE = "request_change", _("asked for a change to a citizen")
        APPROVE_CHANGE = "approve_change", _("approved a change to a citizen")
        REJECT_CHANGE = "reject_change", _("refused a change to a citizen")
        # The citizen moved their account to a new number, proved by SMS.
        CHANGE_PHONE = "change_phone", _("phone number changed by its holder")
        # Citizen groups.
        REPLACE_MEMBERS = "replace_members", _("replaced the members")
        # A row of Django's own admin history (django_admin_log), mirrored into the chain.
        ADMIN_LOG = "admin_log", _("admin history entry")

    class Subject(models.TextChoices):
        POLL = "poll", _("poll")
        PROPOSAL = "proposal", _("proposal")
        COMMENT = "comment", _("comment")
        CITIZEN = "citizen", _("citizen")
        GROUP = "group", _("citizen group")
        ADMIN = "admin", _("admin history")

    # Position in the chain, 1, 2, 3, ... without gaps: a missing number is a removed entry.
    seq = models.BigIntegerField(_("sequence"), unique=True, editable=False)
    # HMAC-SHA256 (hex) of the previous entry's hash and this entry's content (audit/chain.py).
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, editable=False)

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True, editable=False)
    # No database constraint on the reference: deleting an account must not touch (update) an
    # audit row.
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
    subject_type = models.CharField(
        _("subject"), max_length=16, choices=Subject.choices, default=Subject.POLL, editable=False
    )
    subject_id = models.BigIntegerField(_("subject id"), null=True, editable=False)
    # The subject's title when the entry was written (a comment's first words, "citizen #12").
    title = models.CharField(_("title"), max_length=200, editable=False)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices, editable=False)
    changes = models.JSONField(_("changes"), default=dict, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-seq"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("the audit log is append-only")
