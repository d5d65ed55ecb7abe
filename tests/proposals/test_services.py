"""Citizens' side of proposals (propose, support, withdraw, expiry), against the real database."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.models import Verification
from accounts.verification import VerificationRequired
from notifications.models import OutboxEvent
from proposals import errors, services
from proposals.models import Proposal, Support
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import CitizenFactory
from tests.proposals.factories import ProposalFactory

pytestmark = pytest.mark.django_db


def submit(author, **overrides):
    fields = {
        "title": "  한강공원 금연구역 확대  ",
        "description": "한강공원 전체를 금연구역으로 지정할까요?\r\n의견을 묻습니다.",
        "options": ["찬성", "반대", "잘 모르겠다"],
        "district_code": None,
        "duration_days": 7,
    }
    fields.update(overrides)
    return services.submit_proposal(author=author, **fields)


# --- Submitting -------------------------------------------------------------------------------


def test_submit_creates_an_open_proposal_with_its_options(citizen, settings):
    settings.PROPOSAL_SUPPORT_DAYS = 10
    before = timezone.now()

    proposal = submit(citizen)

    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.OPEN
    assert proposal.title == "한강공원 금연구역 확대"  # stripped
    assert proposal.description == "한강공원 전체를 금연구역으로 지정할까요?\n의견을 묻습니다."
    assert list(proposal.options.values_list("label", "position")) == [
        ("찬성", 0),
        ("반대", 1),
        ("잘 모르겠다", 2),
    ]
    assert proposal.district_id is None
    assert proposal.support_count == 0
    assert before + timedelta(days=10) <= proposal.support_deadline
    assert proposal.support_deadline <= timezone.now() + timedelta(days=10)


def test_a_dong_resident_proposes_for_their_gu(db):
    author = CitizenFactory(district_id=SAJIK)
    assert submit(author, district_code=JONGNO).district_id == JONGNO


@pytest.mark.parametrize(
    ("residence", "code"),
    [
        (SAJIK, GANGNAM),  # another gu
        (SAJIK, SAJIK),  # a dong, not the gu
        (None, JONGNO),  # no residence known
        (SAJIK, "9999999999"),  # no such district
    ],
)
def test_a_proposal_is_for_the_city_or_the_authors_gu(db, residence, code):
    author = CitizenFactory(district_id=residence)
    with pytest.raises(errors.InvalidDistrict):
        submit(author, district_code=code)
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"verification": Verification.UNVERIFIED},
        {"phone_verified": False},
        {"is_active": False},
    ],
)
def test_only_phone_verified_citizens_propose(db, fields):
    with pytest.raises(VerificationRequired) as caught:
        submit(CitizenFactory(**fields))
    # The one guard (accounts.verification), with the proposals' own words.
    assert str(caught.value.detail) == str(services.VERIFY_TO_TAKE_PART)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "제목\x00"}, "title"),
        ({"title": "제목\n둘째 줄"}, "title"),
        ({"title": 42}, "title"),
        ({"description": ""}, "description"),
        ({"description": "y" * 5001}, "description"),
        ({"description": "설명\x1b[31m"}, "description"),
        ({"options": ["하나"]}, "options"),
        ({"options": [f"{i}번" for i in range(11)]}, "options"),
        ({"options": ["찬성", " 찬성 "]}, "options"),
        ({"options": ["Yes  please", "yes please"]}, "options"),
        ({"options": ["찬성", ""]}, "options"),
        ({"options": ["찬성", "z" * 201]}, "options"),
        ({"options": "찬성,반대"}, "options"),
        ({"duration_days": 0}, "duration_days"),
        ({"duration_days": 31}, "duration_days"),
        ({"duration_days": True}, "duration_days"),
    ],
)
def test_invalid_text_is_refused_field_by_field(citizen, overrides, field):
    with pytest.raises(ValidationError) as caught:
        submit(citizen, **overrides)
    assert field in caught.value.detail
    assert not Proposal.objects.exists()


def test_at_most_n_open_or_under_review_proposals_per_citizen(citizen, settings):
    settings.PROPOSAL_MAX_OPEN_PER_CITIZEN = 2
    ProposalFactory(author=citizen)
    ProposalFactory(author=citizen, under_review=True)
    ProposalFactory(author=citizen, status=Proposal.Status.REJECTED)  # decided: not counted

    with pytest.raises(errors.TooManyOpenProposals):
        submit(citizen)

    Proposal.objects.filter(author=citizen, status=Proposal.Status.OPEN).update(
        status=Proposal.Status.EXPIRED
    )
    assert submit(citizen).status == Proposal.Status.OPEN


# --- Supporting --------------------------------------------------------------------------------


def test_support_counts_once_per_citizen(citizen):
    proposal = ProposalFactory()

    result = services.support(proposal=proposal, user=citizen)
    assert result.support_count == 1
    with pytest.raises(errors.AlreadySupported):
        services.support(proposal=proposal, user=citizen)

    proposal.refresh_from_db()
    assert proposal.support_count == 1
    assert Support.objects.filter(proposal=proposal).count() == 1


def test_authors_do_not_support_their_own_proposal(citizen):
    proposal = ProposalFactory(author=citizen)
    with pytest.raises(errors.OwnProposal):
        services.support(proposal=proposal, user=citizen)


def test_unverified_citizens_do_not_support(db):
    proposal = ProposalFactory()
    with pytest.raises(VerificationRequired):
        services.support(proposal=proposal, user=CitizenFactory(phone_verified=False))
    assert proposal.supports.count() == 0


def test_a_gus_proposal_is_supported_by_its_residents_only(db):
    proposal = ProposalFactory(district_id=JONGNO)
    with pytest.raises(errors.NotResident):
        services.support(proposal=proposal, user=CitizenFactory(district_id=SINSA))
    with pytest.raises(errors.NotResident):
        services.support(proposal=proposal, user=CitizenFactory())
    assert services.support(proposal=proposal, user=CitizenFactory(district_id=SAJIK))
    assert services.support(proposal=proposal, user=CitizenFactory(district_id=JONGNO))


@pytest.mark.parametrize(
    "fields",
    [
        {"support_deadline": timezone.now() - timedelta(seconds=1)},
        {"status": Proposal.Status.EXPIRED},
        {"status": Proposal.Status.REJECTED},
        {"under_review": True},
    ],
)
def test_only_open_proposals_within_their_deadline_are_supported(citizen, fields):
    proposal = ProposalFactory(**fields)
    count = proposal.support_count
    with pytest.raises(errors.ProposalNotOpen):
        services.support(proposal=proposal, user=citizen)
    proposal.refresh_from_db()
    assert proposal.support_count == count


def test_hidden_proposals_cannot_be_supported(citizen):
    from django.http import Http404

    proposal = ProposalFactory(hidden_at=timezone.now(), hidden_reason="욕설")
    with pytest.raises(Http404):
        services.support(proposal=proposal, user=citizen)


def test_reaching_the_threshold_sends_the_proposal_to_review(settings):
    settings.PROPOSAL_SUPPORT_THRESHOLD = 3
    proposal = ProposalFactory()
    supporters = CitizenFactory.create_batch(4)

    assert services.support(proposal=proposal, user=supporters[0]).status == "open"
    assert services.support(proposal=proposal, user=supporters[1]).status == "open"
    assert not OutboxEvent.objects.exists()
    result = services.support(proposal=proposal, user=supporters[2])

    assert (result.support_count, result.status) == (3, Proposal.Status.UNDER_REVIEW)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.UNDER_REVIEW
    assert proposal.reached_threshold_at is not None
    event = OutboxEvent.objects.get(dedupe_key=f"proposal:{proposal.pk}:under_review")
    assert event.kind == "proposal"
    assert event.subject_id == proposal.pk
    assert event.payload == {"title": proposal.title, "status": "under_review", "reason": ""}

    # Collecting is over: the count stays at the threshold.
    with pytest.raises(errors.ProposalNotOpen):
        services.support(proposal=proposal, user=supporters[3])
    proposal.refresh_from_db()
    assert proposal.support_count == 3


def test_withdrawing_support_decrements(citizen):
    proposal = ProposalFactory()
    services.support(proposal=proposal, user=citizen)
    services.support(proposal=proposal, user=CitizenFactory())

    result = services.withdraw_support(proposal=proposal, user=citizen)

    assert result.support_count == 1
    assert not Support.objects.filter(proposal=proposal, user=citizen).exists()
    with pytest.raises(errors.NotSupported):
        services.withdraw_support(proposal=proposal, user=citizen)
    proposal.refresh_from_db()
    assert proposal.support_count == 1


def test_support_cannot_be_withdrawn_once_under_review(citizen, settings):
    settings.PROPOSAL_SUPPORT_THRESHOLD = 1
    proposal = ProposalFactory()
    services.support(proposal=proposal, user=citizen)
    with pytest.raises(errors.ProposalNotOpen):
        services.withdraw_support(proposal=proposal, user=citizen)
    assert Support.objects.filter(proposal=proposal).count() == 1


# --- Expiry ------------------------------------------------------------------------------------


def test_open_proposals_past_their_deadline_expire():
    now = timezone.now()
    due = ProposalFactory.create_batch(2, support_deadline=now - timedelta(minutes=1))
    running = ProposalFactory(support_deadline=now + timedelta(days=1))
    in_review = ProposalFactory(under_review=True, support_deadline=now - timedelta(days=1))

    assert services.expire_due_proposals(now=now) == 2

    statuses = dict(Proposal.objects.values_list("pk", "status"))
    assert statuses == {
        due[0].pk: "expired",
        due[1].pk: "expired",
        running.pk: "open",
        in_review.pk: "under_review",
    }
    for proposal in due:
        event = OutboxEvent.objects.get(dedupe_key=f"proposal:{proposal.pk}:expired")
        assert event.payload["status"] == "expired"
        assert event.payload["title"] == proposal.title
    assert OutboxEvent.objects.count() == 2
    assert services.expire_due_proposals(now=now) == 0
