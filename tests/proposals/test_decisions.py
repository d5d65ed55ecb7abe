"""Officials' decisions on proposals (accept, reject, hide, show again), against the real
database."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from audit.models import AuditEntry
from moderation import errors as moderation_errors
from notifications.models import OutboxEvent
from proposals import decisions, errors
from proposals.models import Proposal
from tests.district_codes import GANGNAM, JONGNO
from tests.factories import OfficialFactory
from tests.proposals.factories import ProposalFactory
from voting.models import Poll

pytestmark = pytest.mark.django_db


# --- Accepting ---------------------------------------------------------------------------------


def accept(proposal, by, **overrides):
    opens = timezone.now() + timedelta(days=3)
    fields = {"opens_at": opens, "closes_at": opens + timedelta(days=7)}
    fields.update(overrides)
    return decisions.accept_proposal(proposal=proposal, by=by, **fields)


def test_accepting_creates_a_draft_poll_and_records_the_edits():
    official = OfficialFactory(role="official")
    proposal = ProposalFactory(under_review=True, options=["찬성", "반대"])

    poll = accept(
        proposal,
        official,
        title="한강공원 야간 조명 확대",
        description=proposal.description,
        options=["찬성", "반대", "모르겠다"],
    )

    assert poll.published is False
    assert (poll.kind, poll.min_choices, poll.max_choices) == (Poll.Kind.SINGLE, 1, 1)
    assert poll.owner == official
    assert poll.title == "한강공원 야간 조명 확대"
    assert list(poll.options.values_list("label", flat=True)) == ["찬성", "반대", "모르겠다"]
    assert not poll.districts.exists()  # city-wide
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ACCEPTED
    assert (proposal.poll, proposal.decided_by) == (poll, official)
    assert proposal.decided_at is not None

    edits = {
        "title": [proposal.title, "한강공원 야간 조명 확대"],
        "options": [["찬성", "반대"], ["찬성", "반대", "모르겠다"]],
    }
    created = AuditEntry.objects.get(
        subject_type=AuditEntry.Subject.POLL, subject_id=poll.pk, action=AuditEntry.Action.CREATE
    )
    assert created.changes == {"from_proposal": proposal.pk, "edits": edits}
    accepted = AuditEntry.objects.get(
        subject_type=AuditEntry.Subject.PROPOSAL,
        subject_id=proposal.pk,
        action=AuditEntry.Action.ACCEPT,
    )
    assert accepted.actor == official
    assert accepted.changes["poll"] == poll.pk
    assert accepted.changes["edits"] == edits
    assert OutboxEvent.objects.filter(dedupe_key=f"proposal:{proposal.pk}:accepted").exists()


def test_accepting_a_gus_proposal_targets_that_gu():
    proposal = ProposalFactory(under_review=True, district_id=JONGNO)
    poll = accept(proposal, OfficialFactory(role="official", gu=JONGNO))
    assert list(poll.districts.values_list("code", flat=True)) == [JONGNO]
    assert poll.title == proposal.title
    entry = AuditEntry.objects.get(
        subject_type=AuditEntry.Subject.POLL, subject_id=poll.pk, action=AuditEntry.Action.CREATE
    )
    assert entry.changes == {"from_proposal": proposal.pk, "edits": {}}


@pytest.mark.parametrize(
    "fields",
    [{}, {"status": Proposal.Status.REJECTED}, {"status": Proposal.Status.EXPIRED}],
)
def test_only_proposals_under_review_are_accepted(fields):
    proposal = ProposalFactory(**fields)
    with pytest.raises(errors.ProposalNotUnderReview):
        accept(proposal, OfficialFactory(role="official"))
    assert not Poll.objects.exists()


def test_accepting_checks_schedule_and_text():
    proposal = ProposalFactory(under_review=True)
    official = OfficialFactory(role="official")
    opens = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError):
        accept(proposal, official, opens_at=opens, closes_at=opens)
    with pytest.raises(ValidationError):
        accept(proposal, official, options=["하나"])
    with pytest.raises(ValidationError):
        accept(proposal, official, title=" ")
    assert not Poll.objects.exists()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.UNDER_REVIEW


def test_a_hidden_proposal_is_not_accepted():
    proposal = ProposalFactory(under_review=True, hidden_at=timezone.now())
    with pytest.raises(errors.ProposalHidden):
        accept(proposal, OfficialFactory(role="official"))


@pytest.mark.parametrize(
    ("proposal_district", "official_jurisdiction", "allowed"),
    [
        (None, None, True),
        (JONGNO, None, True),
        (JONGNO, JONGNO, True),
        (JONGNO, GANGNAM, False),
        (None, JONGNO, False),  # city-wide proposals need a city-wide official
    ],
)
def test_gu_officials_moderate_their_gu_only(proposal_district, official_jurisdiction, allowed):
    proposal = ProposalFactory(under_review=True, district_id=proposal_district)
    official = OfficialFactory(role="official", gu=official_jurisdiction)
    if allowed:
        decisions.reject_proposal(proposal=proposal, by=official, reason="중복 제안")
    else:
        with pytest.raises(errors.OutsideJurisdiction):
            decisions.reject_proposal(proposal=proposal, by=official, reason="중복 제안")
        with pytest.raises(errors.OutsideJurisdiction):
            decisions.hide_proposal(proposal=proposal, by=official, reason="욕설이 포함된 제안")
        with pytest.raises(errors.OutsideJurisdiction):
            accept(proposal, official)


def test_citizens_are_not_moderators(citizen):
    proposal = ProposalFactory(under_review=True)
    with pytest.raises(errors.OutsideJurisdiction):
        decisions.reject_proposal(proposal=proposal, by=citizen, reason="...")


def test_rejecting_needs_a_public_reason():
    proposal = ProposalFactory(under_review=True)
    official = OfficialFactory(role="official")
    with pytest.raises(ValidationError):
        decisions.reject_proposal(proposal=proposal, by=official, reason="   ")

    decisions.reject_proposal(proposal=proposal, by=official, reason="이미 시행 중인 정책입니다.")

    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.REJECTED
    assert proposal.rejection_reason == "이미 시행 중인 정책입니다."
    assert proposal.decided_by == official
    entry = AuditEntry.objects.get(subject_id=proposal.pk, action=AuditEntry.Action.REJECT)
    assert entry.subject_type == AuditEntry.Subject.PROPOSAL
    assert entry.changes["reason"] == "이미 시행 중인 정책입니다."
    event = OutboxEvent.objects.get(dedupe_key=f"proposal:{proposal.pk}:rejected")
    assert event.payload["reason"] == "이미 시행 중인 정책입니다."
    with pytest.raises(errors.ProposalNotUnderReview):
        decisions.reject_proposal(proposal=proposal, by=official, reason="again")


def test_hiding_and_showing_again_are_audited():
    proposal = ProposalFactory()
    official = OfficialFactory(role="official")
    for missing in ("", "   ", "x"):  # at least 2 characters: the author reads it
        with pytest.raises(moderation_errors.ReasonRequired):
            decisions.hide_proposal(proposal=proposal, by=official, reason=missing)

    decisions.hide_proposal(proposal=proposal, by=official, reason="개인정보 포함")
    proposal.refresh_from_db()
    assert proposal.is_hidden
    assert (proposal.hidden_reason, proposal.hidden_by) == ("개인정보 포함", official)
    with pytest.raises(moderation_errors.AlreadyHidden):
        decisions.hide_proposal(proposal=proposal, by=official, reason="again")

    decisions.unhide_proposal(proposal=proposal, by=official, reason="작성자가 수정함")
    proposal.refresh_from_db()
    assert not proposal.is_hidden
    assert proposal.hidden_reason == ""
    with pytest.raises(moderation_errors.NotHidden):
        decisions.unhide_proposal(proposal=proposal, by=official, reason="다시 공개합니다")

    actions = list(
        AuditEntry.objects.filter(subject_id=proposal.pk, subject_type="proposal")
        .order_by("id")
        .values_list("action", "changes")
    )
    assert actions == [
        ("hide", {"reason": "개인정보 포함"}),
        ("unhide", {"reason": "작성자가 수정함", "hidden_reason": "개인정보 포함"}),
    ]
    # Hiding is not a status change: no notification.
    assert not OutboxEvent.objects.exists()
