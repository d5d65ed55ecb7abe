"""Hiding and showing again what citizens wrote: one rule set for proposals and comments.

* The row is locked, so two officials acting at once give one decision and one refusal.
* Hiding what is hidden is a 409 ``already_hidden``; showing what is shown a 409 ``not_hidden``:
  the official learns that someone else decided first, instead of believing it was them.
* Both need a reason of at least ``MIN_REASON_LENGTH`` characters (``reason_required``): the
  author reads why their text was hidden, and the audit log keeps why it came back.
* Every decision is an audit entry (``hide``/``unhide``) in the same transaction: changes
  ``{"reason": ...}`` on hiding, ``{"reason": ..., "hidden_reason": <the previous reason>}`` on
  showing again.

Who may decide is the caller's business (the admin's scoping, ``proposals.decisions``' check of
the jurisdiction): this module knows no districts and no polls.
"""

from typing import TypeVar, cast

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEntry
from audit.services import record_event
from core.text import clean_text
from moderation.errors import AlreadyHidden, NotHidden, ReasonRequired
from moderation.models import MAX_HIDDEN_REASON, Hideable

# One character is not a reason the author can act on ("x"); two are, in Korean ("욕설": abuse).
MIN_REASON_LENGTH = 2

H = TypeVar("H", bound=Hideable)


def clean_reason(reason: object) -> str:
    """The reason as stored (``core.text.clean_text``, multi-line); ``ReasonRequired`` if it is
    missing or shorter than ``MIN_REASON_LENGTH``."""
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        raise ReasonRequired()
    text = clean_text(reason, field="reason", max_length=MAX_HIDDEN_REASON, multiline=True)
    if len(text) < MIN_REASON_LENGTH:
        raise ReasonRequired()
    return text


def _lock(obj: H) -> H:
    return cast(H, type(obj)._default_manager.select_for_update().get(pk=obj.pk))


def _record(*, obj: Hideable, by: User | None, action: str, changes: dict[str, str]) -> None:
    record_event(
        actor=by,
        subject_type=obj.moderation_subject,
        subject_id=obj.pk,
        title=obj.moderation_title(),
        action=action,
        changes=changes,
    )


@transaction.atomic
def hide(*, obj: H, by: User | None, reason: str) -> H:
    """Take ``obj`` out of citizens' sight; its author still reads it, with ``reason``."""
    reason = clean_reason(reason)
    locked = _lock(obj)
    if locked.is_hidden:
        raise AlreadyHidden()
    locked.hidden_at = timezone.now()
    locked.hidden_by = by
    locked.hidden_reason = reason
    locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    _record(obj=locked, by=by, action=AuditEntry.Action.HIDE, changes={"reason": reason})
    return locked


@transaction.atomic
def unhide(*, obj: H, by: User | None, reason: str) -> H:
    """Show ``obj`` to everyone again; the audit entry keeps why it had been hidden."""
    reason = clean_reason(reason)
    locked = _lock(obj)
    if not locked.is_hidden:
        raise NotHidden()
    previous = locked.hidden_reason
    locked.hidden_at = None
    locked.hidden_by = None
    locked.hidden_reason = ""
    locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    _record(
        obj=locked,
        by=by,
        action=AuditEntry.Action.UNHIDE,
        changes={"reason": reason, "hidden_reason": previous},
    )
    return locked
