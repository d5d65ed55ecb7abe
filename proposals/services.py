"""Writes on proposals. Each function is one transaction; status changes emit their event in it.

Rules decided here:

* Only phone-verified citizens propose and support (one verified phone = one citizen, as for
  ballots), so support cannot be inflated with throw-away accounts.
* A proposal for a gu may only be made, and supported, by residents of that gu (or of its dongs):
  the poll it becomes is for that gu. City-wide proposals are open to every verified citizen.
* Authors do not support their own proposal: the threshold counts *other* citizens.
* Supports are serialised on the proposal's row lock, so the counter is exact and the proposal
  leaves ``open`` at exactly the threshold; the unique constraint decides "once per citizen".
"""

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User, Verification
from core.errors import ApiError, Conflict, Forbidden
from core.images import validate_image
from districts.models import District
from notifications.events import emit
from proposals.models import (
    MAX_DESCRIPTION,
    MAX_DURATION_DAYS,
    MAX_IMAGES,
    MAX_OPTION_LABEL,
    MAX_OPTIONS,
    MAX_REASON,
    MAX_TITLE,
    MIN_DURATION_DAYS,
    MIN_OPTIONS,
    Proposal,
    ProposalImage,
    ProposalOption,
    Support,
)
from voting import audit, scoping
from voting.models import AuditEntry, Option, Poll

# --- Errors ----------------------------------------------------------------------------------


class VerificationRequired(Forbidden):
    default_code = "verification_required"
    default_detail = _("Verify your phone number to propose or support polls.")


class TooManyOpenProposals(Conflict):
    default_code = "too_many_open_proposals"
    default_detail = _("You have too many proposals collecting support or under review.")


class InvalidDistrict(ApiError):
    default_code = "invalid_district"
    default_detail = _("A proposal is for all of Seoul or for the gu you live in.")


class NotResident(Forbidden):
    default_code = "not_resident"
    default_detail = _("Only residents of this gu may support this proposal.")


class ProposalNotOpen(Conflict):
    default_code = "proposal_not_open"
    default_detail = _("This proposal is no longer collecting support.")


class AlreadySupported(Conflict):
    default_code = "already_supported"
    default_detail = _("You already support this proposal.")


class NotSupported(Conflict):
    default_code = "not_supported"
    default_detail = _("You do not support this proposal.")


class OwnProposal(Conflict):
    default_code = "own_proposal"
    default_detail = _("You cannot support your own proposal.")


class NotAuthor(Forbidden):
    default_code = "not_author"
    default_detail = _("Only the author may add images to a proposal.")


class ImagesLocked(Conflict):
    default_code = "images_locked"
    default_detail = _("Images can be added only while the proposal has no supporters.")


class TooManyImages(Conflict):
    default_code = "too_many_images"
    default_detail = _("A proposal has at most 3 images.")


class ProposalNotUnderReview(Conflict):
    default_code = "proposal_not_under_review"
    default_detail = _("Only proposals under review can be accepted or rejected.")


class ProposalHidden(Conflict):
    default_code = "proposal_hidden"
    default_detail = _("A hidden proposal cannot be accepted; show it again first.")


class AlreadyHidden(Conflict):
    default_code = "already_hidden"
    default_detail = _("This proposal is already hidden.")


class NotHidden(Conflict):
    default_code = "not_hidden"
    default_detail = _("This proposal is not hidden.")


class OutsideJurisdiction(Forbidden):
    default_code = "outside_jurisdiction"
    default_detail = _("This proposal is outside your jurisdiction.")


# --- Text rules --------------------------------------------------------------------------------


def _has_control_characters(text: str, *, multiline: bool) -> bool:
    allowed = {"\n", "\t"} if multiline else set()
    # Cc: C0/C1 controls (NUL, ESC, ...); Cf would forbid emoji joiners, so only Cc counts.
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def clean_text(value: object, *, field: str, max_length: int, multiline: bool = False) -> str:
    """Stripped, non-empty, at most ``max_length``, without control characters (a 400 if not).

    Line breaks are normalised to ``\\n`` in multi-line text.
    """
    if not isinstance(value, str):
        raise serializers.ValidationError({field: [_("Send text.")]})
    text = value.replace("\r\n", "\n").replace("\r", "\n") if multiline else value
    text = text.strip()
    if not text:
        raise serializers.ValidationError({field: [_("This field may not be blank.")]})
    if len(text) > max_length:
        raise serializers.ValidationError(
            {field: [_("At most %(max)d characters.") % {"max": max_length}]}
        )
    if _has_control_characters(text, multiline=multiline):
        raise serializers.ValidationError({field: [_("Control characters are not allowed.")]})
    return text


def _option_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def clean_options(values: object) -> list[str]:
    """2..10 labels, each clean single-line text, all distinct ignoring case and spacing."""
    if not isinstance(values, list | tuple):
        raise serializers.ValidationError({"options": [_("Send a list of options.")]})
    if not MIN_OPTIONS <= len(values) <= MAX_OPTIONS:
        raise serializers.ValidationError(
            {
                "options": [
                    _("Propose between %(min)d and %(max)d options.")
                    % {"min": MIN_OPTIONS, "max": MAX_OPTIONS}
                ]
            }
        )
    labels = [
        " ".join(clean_text(v, field="options", max_length=MAX_OPTION_LABEL).split())
        for v in values
    ]
    if len({_option_key(label) for label in labels}) != len(labels):
        raise serializers.ValidationError({"options": [_("Each option must be different.")]})
    return labels


def _require_verified(user: User) -> None:
    if not (user.is_active and user.phone_verified and user.verification >= Verification.PHONE):
        raise VerificationRequired()


def _gu_of(user: User) -> str | None:
    if user.district_id is None:
        return None
    district = user.district
    return district.gu_code


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _emit_status(proposal: Proposal, status: str, reason: str = "") -> None:
    emit(
        "proposal",
        subject_id=proposal.pk,
        dedupe_key=f"proposal:{proposal.pk}:{status}",
        payload={"title": proposal.title, "status": status, "reason": reason},
    )


# --- Citizens ----------------------------------------------------------------------------------


@transaction.atomic
def submit_proposal(
    *,
    author: User,
    title: str,
    description: str,
    options: list[str],
    district_code: str | None,
    duration_days: int,
) -> Proposal:
    _require_verified(author)
    title = clean_text(title, field="title", max_length=MAX_TITLE)
    description = clean_text(
        description, field="description", max_length=MAX_DESCRIPTION, multiline=True
    )
    labels = clean_options(options)
    if (
        isinstance(duration_days, bool)
        or not isinstance(duration_days, int)
        or not MIN_DURATION_DAYS <= duration_days <= MAX_DURATION_DAYS
    ):
        raise serializers.ValidationError(
            {
                "duration_days": [
                    _("Between %(min)d and %(max)d days.")
                    % {"min": MIN_DURATION_DAYS, "max": MAX_DURATION_DAYS}
                ]
            }
        )
    district = None
    if district_code:
        # The author's own gu only: a dong resident proposes for their gu.
        if district_code != _gu_of(author):
            raise InvalidDistrict()
        district = District.objects.get(code=district_code)

    # Lock the author's row: two simultaneous submissions cannot both pass the limit.
    User.objects.select_for_update().filter(pk=author.pk).first()
    limit = _setting("PROPOSAL_MAX_OPEN_PER_CITIZEN", 3)
    pending = Proposal.objects.filter(
        author=author, status__in=[Proposal.Status.OPEN, Proposal.Status.UNDER_REVIEW]
    ).count()
    if pending >= limit:
        raise TooManyOpenProposals(
            _("You may have at most %(max)d proposals collecting support or under review.")
            % {"max": limit}
        )

    now = timezone.now()
    proposal = Proposal.objects.create(
        author=author,
        title=title,
        description=description,
        district=district,
        duration_days=duration_days,
        support_deadline=now + timedelta(days=_setting("PROPOSAL_SUPPORT_DAYS", 30)),
    )
    ProposalOption.objects.bulk_create(
        [
            ProposalOption(proposal=proposal, label=label, position=position)
            for position, label in enumerate(labels)
        ]
    )
    return proposal


@transaction.atomic
def add_image(*, proposal: Proposal, by: User, image: UploadedFile, alt: str) -> ProposalImage:
    """The author adds a picture while nobody supports the proposal yet (supporters backed the
    proposal as they saw it)."""
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.author_id != by.pk:
        raise NotAuthor()
    if proposal.status != Proposal.Status.OPEN or proposal.support_deadline <= timezone.now():
        raise ProposalNotOpen()
    if proposal.support_count > 0:
        raise ImagesLocked()
    alt = clean_text(alt, field="alt", max_length=200)
    try:
        validate_image(image)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({"image": exc.messages}) from exc
    count = proposal.images.count()
    if count >= MAX_IMAGES:
        raise TooManyImages()
    return ProposalImage.objects.create(proposal=proposal, image=image, alt=alt, position=count)


@dataclass(frozen=True)
class SupportResult:
    support_count: int
    status: str


def _lock_for_support(proposal_id: int) -> Proposal:
    proposal = (
        Proposal.objects.select_for_update().filter(pk=proposal_id, hidden_at__isnull=True).first()
    )
    if proposal is None:
        raise Http404  # hidden proposals do not exist for supporters
    return proposal


def support(*, proposal: Proposal | int, user: User) -> SupportResult:
    """Support an open proposal once; at the threshold it goes to review in the same
    transaction (and its event is emitted there)."""
    proposal_id = proposal if isinstance(proposal, int) else proposal.pk
    try:
        with transaction.atomic():
            locked = _lock_for_support(proposal_id)
            _require_verified(user)
            if locked.author_id == user.pk:
                raise OwnProposal()
            now = timezone.now()
            if locked.status != Proposal.Status.OPEN or locked.support_deadline <= now:
                raise ProposalNotOpen()
            if locked.district_id is not None and _gu_of(user) != locked.district_id:
                raise NotResident()
            Support.objects.create(proposal_id=locked.pk, user=user)
            Proposal.objects.filter(pk=locked.pk).update(support_count=F("support_count") + 1)
            count = Proposal.objects.values_list("support_count", flat=True).get(pk=locked.pk)
            status = locked.status
            if count >= _setting("PROPOSAL_SUPPORT_THRESHOLD", 50):
                status = Proposal.Status.UNDER_REVIEW
                Proposal.objects.filter(pk=locked.pk).update(
                    status=status, reached_threshold_at=now
                )
                _emit_status(locked, status)
    except IntegrityError as exc:
        if _is_support_conflict(exc):
            raise AlreadySupported() from exc
        raise
    return SupportResult(support_count=count, status=status)


def _is_support_conflict(exc: IntegrityError) -> bool:
    text = str(exc)
    # PostgreSQL names the constraint; SQLite names the table and columns.
    return "one_support_per_citizen" in text or "proposals_support" in text


@transaction.atomic
def withdraw_support(*, proposal: Proposal | int, user: User) -> SupportResult:
    proposal_id = proposal if isinstance(proposal, int) else proposal.pk
    locked = _lock_for_support(proposal_id)
    if locked.status != Proposal.Status.OPEN or locked.support_deadline <= timezone.now():
        raise ProposalNotOpen()
    deleted, _kinds = Support.objects.filter(proposal_id=locked.pk, user=user).delete()
    if not deleted:
        raise NotSupported()
    Proposal.objects.filter(pk=locked.pk).update(support_count=F("support_count") - 1)
    count = Proposal.objects.values_list("support_count", flat=True).get(pk=locked.pk)
    return SupportResult(support_count=count, status=locked.status)


def expire_due_proposals(now: datetime | None = None) -> int:
    """Open proposals past their deadline become expired; returns how many.

    The rows are locked first, so a support committing at the same moment either carried the
    proposal to review before (then it is not due any more) or waits and finds it expired.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Proposal.objects.select_for_update()
            .filter(status=Proposal.Status.OPEN, support_deadline__lte=now)
            .values_list("pk", "title")
        )
        if not due:
            return 0
        Proposal.objects.filter(pk__in=[pk for pk, _title in due]).update(
            status=Proposal.Status.EXPIRED, decided_at=now
        )
        for pk, title in due:
            _emit_status(Proposal(pk=pk, title=title), Proposal.Status.EXPIRED)
    return len(due)


# --- Officials ---------------------------------------------------------------------------------


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


def _reason(reason: object, *, required: bool = True) -> str:
    if not required and (reason is None or (isinstance(reason, str) and not reason.strip())):
        return ""
    return clean_text(reason, field="reason", max_length=MAX_REASON, multiline=True)


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
        poll.districts.set([locked.district_id])

    edits = {
        field: [proposed, accepted]
        for field, proposed, accepted in (
            ("title", locked.title, final_title),
            ("description", locked.description, final_description),
            ("options", proposed_options, final_options),
        )
        if proposed != accepted
    }
    audit.record(
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
    audit.record_moderation(
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
    _emit_status(locked, Proposal.Status.ACCEPTED)
    return poll


@transaction.atomic
def reject_proposal(*, proposal: Proposal, by: User, reason: str) -> Proposal:
    """Reject a proposal under review; the reason is public."""
    reason = _reason(reason)
    locked = _lock_for_moderation(proposal, by)
    if locked.status != Proposal.Status.UNDER_REVIEW:
        raise ProposalNotUnderReview()
    locked.status = Proposal.Status.REJECTED
    locked.decided_at = timezone.now()
    locked.decided_by = by
    locked.rejection_reason = reason
    locked.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
    audit.record_moderation(
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
    _emit_status(locked, Proposal.Status.REJECTED, reason)
    return locked


@transaction.atomic
def hide_proposal(*, proposal: Proposal, by: User, reason: str) -> Proposal:
    """Take an abusive proposal out of citizens' sight; its author still sees it, with why."""
    reason = _reason(reason)
    locked = _lock_for_moderation(proposal, by)
    if locked.is_hidden:
        raise AlreadyHidden()
    locked.hidden_at = timezone.now()
    locked.hidden_by = by
    locked.hidden_reason = reason
    locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    audit.record_moderation(
        actor=by,
        subject_type=AuditEntry.Subject.PROPOSAL,
        subject_id=locked.pk,
        title=locked.title,
        action=AuditEntry.Action.HIDE,
        changes={"reason": reason},
    )
    return locked


@transaction.atomic
def unhide_proposal(*, proposal: Proposal, by: User, reason: str = "") -> Proposal:
    reason = _reason(reason, required=False)
    locked = _lock_for_moderation(proposal, by)
    if not locked.is_hidden:
        raise NotHidden()
    previous = locked.hidden_reason
    locked.hidden_at = None
    locked.hidden_by = None
    locked.hidden_reason = ""
    locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    audit.record_moderation(
        actor=by,
        subject_type=AuditEntry.Subject.PROPOSAL,
        subject_id=locked.pk,
        title=locked.title,
        action=AuditEntry.Action.UNHIDE,
        changes={"reason": reason, "hidden_reason": previous},
    )
    return locked
