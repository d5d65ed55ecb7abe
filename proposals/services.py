"""Citizens' writes on proposals: propose, add images, support, withdraw; and the expiry job.

Each function is one transaction; status changes emit their event in it. Officials' decisions
(accept, reject, hide) are in ``proposals.decisions``; the refusals in ``proposals.errors``.

Rules decided here:

* Only phone-verified citizens propose and support (one verified phone = one citizen, as for
  ballots), so support cannot be inflated with throw-away accounts.
* A proposal for a gu may only be made, and supported, by residents of that gu (or of its dongs):
  the poll it becomes is for that gu. City-wide proposals are open to every verified citizen.
* Authors do not support their own proposal: the threshold counts *other* citizens.
* Supports are serialised on the proposal's row lock, so the counter is exact and the proposal
  leaves ``open`` at exactly the threshold; the unique constraint decides "once per citizen".
"""

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

from accounts.models import User
from accounts.verification import require_verified
from core.images import validate_image
from core.text import clean_text
from districts.models import District
from notifications.events import emit
from proposals.errors import (
    AlreadySupported,
    ImagesLocked,
    InvalidDistrict,
    NotAuthor,
    NotResident,
    NotSupported,
    OwnProposal,
    ProposalNotOpen,
    TooManyImages,
    TooManyOpenProposals,
)
from proposals.models import (
    MAX_DESCRIPTION,
    MAX_DURATION_DAYS,
    MAX_IMAGES,
    MAX_OPTION_LABEL,
    MAX_OPTIONS,
    MAX_TITLE,
    MIN_DURATION_DAYS,
    MIN_OPTIONS,
    Proposal,
    ProposalImage,
    ProposalOption,
    Support,
)

VERIFY_TO_TAKE_PART = _("Verify your phone number to propose or support polls.")


# --- Options -----------------------------------------------------------------------------------


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


# --- Shared ------------------------------------------------------------------------------------


def _require_verified(user: User) -> None:
    require_verified(user, detail=VERIFY_TO_TAKE_PART)


def _gu_of(user: User) -> str | None:
    district = user.district
    return None if district is None else district.gu_code


def emit_status(proposal: Proposal, status: str, reason: str = "") -> None:
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
    limit = settings.PROPOSAL_MAX_OPEN_PER_CITIZEN
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
        support_deadline=now + timedelta(days=settings.PROPOSAL_SUPPORT_DAYS),
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
    proposal = Proposal.objects.select_for_update().visible().filter(pk=proposal_id).first()
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
            if count >= settings.PROPOSAL_SUPPORT_THRESHOLD:
                status = Proposal.Status.UNDER_REVIEW
                Proposal.objects.filter(pk=locked.pk).update(
                    status=status, reached_threshold_at=now
                )
                emit_status(locked, status)
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
            emit_status(Proposal(pk=pk, title=title), Proposal.Status.EXPIRED)
    return len(due)
