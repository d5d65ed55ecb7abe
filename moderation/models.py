"""What officials may hide: the fields, the "visible" filter, and what the audit log calls it.

Hiding is not deleting: the row stays (replies, supports and the audit log refer to it), its
author still reads it with the reason, everyone else sees that something was hidden, or nothing.
A model inherits ``Hideable`` and names its ``moderation_subject`` (the audit log's subject type);
``moderation.services`` hides and shows it again, with one set of rules for every kind.
"""

from typing import ClassVar, Self, TypeVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The author reads the reason beside their text: a few sentences, not a letter.
MAX_HIDDEN_REASON = 500


_H = TypeVar("_H", bound="Hideable")


class HideableQuerySet(models.QuerySet[_H]):
    def visible(self) -> Self:
        return self.filter(hidden_at__isnull=True)

    def hidden(self) -> Self:
        return self.filter(hidden_at__isnull=False)


class Hideable(models.Model):
    # The audit log's subject type for this kind of thing ("proposal", "comment").
    moderation_subject: ClassVar[str] = ""

    hidden_at = models.DateTimeField(_("hidden at"), null=True, blank=True, editable=False)
    hidden_reason = models.CharField(
        _("reason for hiding"), max_length=MAX_HIDDEN_REASON, blank=True, editable=False
    )
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("hidden by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = HideableQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    def moderation_title(self) -> str:
        """What the audit log shows of the hidden thing (it keeps at most 200 characters)."""
        return str(self)
