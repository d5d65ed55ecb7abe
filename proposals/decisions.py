"""Officials' decisions on proposals: accept (a draft poll), reject (a public reason), hide and
show again (``moderation.services``). Each is one transaction with its audit entry.

City-wide officials decide on every proposal; a gu's officials on those for their gu
(``may_moderate``), checked on the locked row, whatever page or action called.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User
from audit.models import AuditEntry
from audit.services import record
from core.text import clean_text
from moderation import services as moderation
from proposals.errors import OutsideJurisdiction, ProposalHidden, ProposalNotUnderReview
from proposals.models import MAX_DESCRIPTION, MAX_REASON, MAX_TITLE, Proposal
from proposals.services import clean_options, emit_status
from voting import scoping
from voting.models import Option, Poll
from voting.services import record_poll


def may_moderate(user: User, proposal: Proposal) -> bool:
    """City-wide officials moderate every proposal; a gu's officials those of their gu."""
    if not (user.is_active and user.is_staff):
        return False
    if scoping.is_city_wide(user):
        return True
    return proposal.district_id is not None and proposal.district_id == user.jurisdiction_id


def _lock_for_moderation(proposal: Proposal, by: User) -> Proposal:
    locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if not may_moderate(by, locked):
        raise OutsideJurisdiction()
    return locked


@transaction.atomic
def accept_proposal(
    *,
    proposal: Proposal,
    by: User,
    title: str | None = None,
    description: str | None = None,
    options: list[str] | None = None,
    opens_at: datetime,
    closes_at: datetime,
) -> Poll:
    """Turn a proposal under review into a draft poll, with the officials' edits recorded.

    The poll stays a draft: officials review it in the poll admin and publish it there.
    """
    locked = _lock_for_moderation(proposal, by)
    if locked.status != Proposal.Status.UNDER_REVIEW:
        raise ProposalNotUnderReview()
    if locked.is_hidden:
        raise ProposalHidden()
    proposed_options = list(locked.options.values_list("label", flat=True))
    final_title = (
        locked.title if title is None else clean_text(title, field="title", max_length=MAX_TITLE)
    )
    final_description = (
        locked.description
        if description is None
        else clean_text(
            description, field="description", max_length=MAX_DESCRIPTION, multiline=True
        )
    )
    final_options = proposed_options if options is None else clean_options(options)
    if closes_at <= opens_at:
        raise serializers.ValidationError({"closes_at": [_("A poll must close after it opens.")]})

    poll = Poll.objects.create(
        title=final_title,
        description=final_description,
        owner=by,
        kind=Poll.Kind.SINGLE,
        min_choices=1,
        max_choices=1,
        opens_at=opens_at,
        closes_at=closes_at,
        published=False,
    )
    Option.objects.bulk_create(
        [Option(poll=poll, label=label, position=i) for i, label in enumerate(final_options)]
    )
    if locked.district_id is not None:
        # District's primary key is its code (text); the stubs expect integer keys.
        poll.districts.set([locked.district_id])  # type: ignore[list-item]

    edits = {
        field: [proposed, accepted]
        for field, proposed, accepted in (
            ("title", locked.title, final_title),
            ("description", locked.description, final_description),
            ("options", proposed_options, final_options),
        )
        if proposed != accepted
    }
    record_poll(
        actor=by,
        poll=poll,
        action=AuditEntry.Action.CREATE,
        changes={"from_proposal": locked.pk, "edits": edits},
    )

    now = timezone.now()
    locked.status = Proposal.Status.ACCEPTED
    locked.decided_at = now
    locked.decided_by = by
    locked.poll = poll
    locked.save(update_fields=["status", "decided_at", "decided_by", "poll"])
    record(
        actor=by,
        subject_type=AuditEntry.Subject.PROPOSAL,
        subject_id=locked.pk,
        title=locked.title,
        action=AuditEntry.Action.ACCEPT,
        changes={
            "poll": poll.pk,
            "edits": edits,
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
        },
    )
    emit_status(locked, Proposal.Status.ACCEPTED)
    return poll


@transaction.atomic
def reject_proposal(*, proposal: Proposal, by: User, reason: str) -> Proposal:
    """Reject a proposal under review; the reason is public."""
    reason = clean_text(reason, field="reason", max_length=MAX_REASON, multiline=True)
    locked = _lock_for_moderation(proposal, by)
    if locked.status != Proposal.Status.UNDER_REVIEW:
        raise ProposalNotUnderReview()
    locked.status = Proposal.Status.REJECTED
    locked.decided_at = timezone.now()
    locked.decided_by = by
    locked.rejection_reason = reason
    locked.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
    record(
        actor=by,
        subject_type=AuditEntry.Subject.PROPOSAL,
        subject_id=locked.pk,
        title=locked.title,
        action=AuditEntry.Action.REJECT,
        changes={
            "status": [Proposal.Status.UNDER_REVIEW, Proposal.Status.REJECTED],
            "reason": reason,
        },
    )
    emit_status(locked, Proposal.Status.REJECTED, reason)
    return locked


@transaction.atomic
def hide_proposal(*, proposal: Proposal, by: User, reason: str) -> Proposal:
    """Take an abusive proposal out of citizens' sight; its author still sees it, with why.
    Hiding is not a status change: nobody is notified."""
    # The jurisdiction first: an official outside it learns nothing of the proposal's state.
    _lock_for_moderation(proposal, by)
    return moderation.hide(obj=proposal, by=by, reason=reason)


@transaction.atomic
def unhide_proposal(*, proposal: Proposal, by: User, reason: str) -> Proposal:
    _lock_for_moderation(proposal, by)
    return moderation.unhide(obj=proposal, by=by, reason=reason)
