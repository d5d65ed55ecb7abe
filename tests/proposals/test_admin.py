"""The officials' moderation queue: decisions through the services, scoped to the gu."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from notifications.models import OutboxEvent
from proposals.models import Proposal, Support
from tests.district_codes import GANGNAM, JONGNO
from tests.factories import CitizenFactory, OfficialFactory
from tests.proposals.factories import ProposalFactory
from voting.models import Poll

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:proposals_proposal_changelist")


def page(name: str, proposal: Proposal) -> str:
    return reverse(f"admin:proposals_proposal_{name}", args=[proposal.pk])


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def moderator():
    return OfficialFactory(role="official")


def changelist_ids(client: Client, **params) -> list[int]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return [p.pk for p in response.context["cl"].result_list]


def test_the_queue_lists_proposals_under_review_first(moderator):
    open_ = ProposalFactory()
    first_in_queue = ProposalFactory(
        under_review=True, reached_threshold_at=timezone.now() - timedelta(days=2)
    )
    second_in_queue = ProposalFactory(under_review=True)
    rejected = ProposalFactory(status=Proposal.Status.REJECTED)

    client = logged_in(moderator)
    assert changelist_ids(client) == [first_in_queue.pk, second_in_queue.pk, open_.pk, rejected.pk]
    assert changelist_ids(client, status="under_review") == [first_in_queue.pk, second_in_queue.pk]
    assert changelist_ids(client, status="rejected") == [rejected.pk]


def test_the_change_page_is_read_only_and_shows_no_author_or_supporters(moderator):
    proposal = ProposalFactory(under_review=True)
    supporter = CitizenFactory()
    Support.objects.create(proposal=proposal, user=supporter)

    response = logged_in(moderator).get(
        reverse("admin:proposals_proposal_change", args=[proposal.pk])
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert proposal.title in text
    assert page("accept", proposal) in text
    assert page("reject", proposal) in text
    assert page("hide", proposal) in text
    assert 'name="_save"' not in text
    assert 'name="title"' not in text  # citizen text is not a form field
    assert proposal.author.phone not in text
    assert supporter.phone not in text


def test_posting_the_change_form_changes_nothing(moderator):
    proposal = ProposalFactory(under_review=True)
    url = reverse("admin:proposals_proposal_change", args=[proposal.pk])
    logged_in(moderator).post(url, {"title": "바꾼 제목", "status": "accepted"})
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.UNDER_REVIEW
    assert proposal.title != "바꾼 제목"


def test_supports_have_no_admin():
    assert Support not in admin.site._registry
    assert Proposal in admin.site._registry


def test_no_adding_or_deleting_proposals(moderator):
    proposal = ProposalFactory()
    client = logged_in(moderator)
    assert client.get(reverse("admin:proposals_proposal_add")).status_code == 403
    delete = reverse("admin:proposals_proposal_delete", args=[proposal.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Proposal.objects.filter(pk=proposal.pk).exists()


# --- Accepting ---------------------------------------------------------------------------------


def test_accept_page_offers_the_proposal_for_editing(moderator):
    proposal = ProposalFactory(under_review=True, options=["찬성", "반대"])
    response = logged_in(moderator).get(page("accept", proposal))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["title"] == proposal.title
    assert form.initial["options"] == "찬성\n반대"


def test_accepting_with_edits_creates_the_draft_poll_and_goes_to_it(moderator):
    proposal = ProposalFactory(under_review=True, district_id=JONGNO, options=["찬성", "반대"])
    opens = timezone.localtime() + timedelta(days=3)
    closes = opens + timedelta(days=14)

    response = logged_in(moderator).post(
        page("accept", proposal),
        {
            "title": "종로구 골목길 CCTV 확대",
            "description": "골목길에 CCTV를 더 설치할까요?",
            "options": "찬성\n반대\n\n조건부 찬성\n",
            "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    poll = Poll.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:voting_poll_change", args=[poll.pk])
    assert poll.published is False
    assert poll.title == "종로구 골목길 CCTV 확대"
    assert poll.description == "골목길에 CCTV를 더 설치할까요?"
    assert list(poll.options.values_list("label", flat=True)) == ["찬성", "반대", "조건부 찬성"]
    assert list(poll.districts.values_list("code", flat=True)) == [JONGNO]
    assert poll.owner == moderator
    local_opens = timezone.localtime(poll.opens_at)
    assert local_opens.strftime("%Y-%m-%dT%H:%M") == opens.strftime("%Y-%m-%dT%H:%M")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.poll_id) == (Proposal.Status.ACCEPTED, poll.pk)

    created = AuditEntry.objects.get(
        subject_type=AuditEntry.Subject.POLL, subject_id=poll.pk, action=AuditEntry.Action.CREATE
    )
    assert created.changes["from_proposal"] == proposal.pk
    assert created.changes["edits"] == {
        "title": [proposal.title, "종로구 골목길 CCTV 확대"],
        "description": [proposal.description, "골목길에 CCTV를 더 설치할까요?"],
        "options": [["찬성", "반대"], ["찬성", "반대", "조건부 찬성"]],
    }
    assert AuditEntry.objects.filter(
        subject_type=AuditEntry.Subject.PROPOSAL,
        subject_id=proposal.pk,
        action=AuditEntry.Action.ACCEPT,
        actor=moderator,
    ).exists()
    assert OutboxEvent.objects.filter(dedupe_key=f"proposal:{proposal.pk}:accepted").exists()


def test_accept_errors_are_shown_on_the_form(moderator):
    proposal = ProposalFactory(under_review=True)
    opens = timezone.localtime() + timedelta(days=3)
    response = logged_in(moderator).post(
        page("accept", proposal),
        {
            "title": proposal.title,
            "description": proposal.description,
            "options": "찬성\n찬성",
            "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (opens - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["options"]
    assert not Poll.objects.exists()


def test_accepting_what_is_not_under_review_is_refused_on_the_form(moderator):
    proposal = ProposalFactory()
    opens = timezone.localtime() + timedelta(days=3)
    response = logged_in(moderator).post(
        page("accept", proposal),
        {
            "title": proposal.title,
            "description": proposal.description,
            "options": "찬성\n반대",
            "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (opens + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Poll.objects.exists()


# --- Rejecting, hiding -------------------------------------------------------------------------


def test_rejecting_needs_a_reason_and_it_is_public(moderator, citizen_api):
    proposal = ProposalFactory(under_review=True)
    client = logged_in(moderator)

    empty = client.post(page("reject", proposal), {"reason": "  "})
    assert empty.status_code == 200
    assert empty.context["form"].errors["reason"]
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.UNDER_REVIEW

    done = client.post(page("reject", proposal), {"reason": "관련 법령상 시행할 수 없습니다."})
    assert done.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.REJECTED

    body = citizen_api.get(f"/api/v1/proposals/{proposal.pk}/").json()
    assert body["rejection_reason"] == "관련 법령상 시행할 수 없습니다."
    assert AuditEntry.objects.filter(subject_id=proposal.pk, action="reject").exists()


def test_hiding_takes_a_proposal_out_of_sight(moderator, citizen_api, client_for):
    proposal = ProposalFactory()
    client = logged_in(moderator)

    assert client.post(page("hide", proposal), {"reason": ""}).status_code == 200
    assert client.post(page("hide", proposal), {"reason": "혐오 표현"}).status_code == 302

    assert citizen_api.get(f"/api/v1/proposals/{proposal.pk}/").status_code == 404
    mine = client_for(proposal.author).get(f"/api/v1/proposals/{proposal.pk}/").json()
    assert mine["hidden_reason"] == "혐오 표현"
    entry = AuditEntry.objects.get(subject_id=proposal.pk, action=AuditEntry.Action.HIDE)
    assert (entry.actor, entry.changes) == (moderator, {"reason": "혐오 표현"})

    change = client.get(reverse("admin:proposals_proposal_change", args=[proposal.pk]))
    assert page("unhide", proposal) in change.content.decode()
    assert client.post(page("unhide", proposal), {"reason": ""}).status_code == 200  # say why
    assert client.post(page("unhide", proposal), {"reason": "작성자가 수정함"}).status_code == 302
    assert citizen_api.get(f"/api/v1/proposals/{proposal.pk}/").status_code == 200
    assert AuditEntry.objects.filter(subject_id=proposal.pk, action="unhide").exists()


# --- Scoping -----------------------------------------------------------------------------------


def test_gu_officials_see_and_moderate_their_gu_only():
    jongno = ProposalFactory(under_review=True, district_id=JONGNO)
    gangnam = ProposalFactory(under_review=True, district_id=GANGNAM)
    city = ProposalFactory(under_review=True)
    client = logged_in(OfficialFactory(role="official", gu=JONGNO))

    assert changelist_ids(client) == [jongno.pk]
    for other in (gangnam, city):
        assert client.get(page("accept", other)).status_code == 404
        assert client.post(page("reject", other), {"reason": "x"}).status_code == 404
        assert client.post(page("hide", other), {"reason": "x"}).status_code == 404
        change = reverse("admin:proposals_proposal_change", args=[other.pk])
        assert client.get(change).status_code == 302  # "does not exist" → back to the list
        other.refresh_from_db()
        assert other.status == Proposal.Status.UNDER_REVIEW
        assert not other.is_hidden

    assert client.post(page("reject", jongno), {"reason": "중복"}).status_code == 302


def test_city_wide_officials_see_everything():
    ProposalFactory(district_id=JONGNO)
    ProposalFactory(district_id=GANGNAM)
    ProposalFactory()
    assert len(changelist_ids(logged_in(OfficialFactory(role="official")))) == 3


def test_officials_without_the_permission_cannot_decide():
    proposal = ProposalFactory(under_review=True)
    client = logged_in(OfficialFactory())
    assert client.get(page("reject", proposal)).status_code == 403
    assert client.post(page("reject", proposal), {"reason": "x"}).status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.UNDER_REVIEW
