"""The audit log in the admin: a gu official sees what happened in their gu, moderation too."""

import pytest

from accounts.signals import citizen_changed
from audit import subjects
from audit.models import AuditEntry
from moderation import services as moderation
from proposals import decisions as proposals
from tests.discussion.factories import CommentFactory
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import OfficialFactory, PollFactory
from tests.proposals.factories import ProposalFactory
from voting import services as voting

pytestmark = pytest.mark.django_db


def test_a_gu_official_sees_the_moderation_of_their_gu_only(client):
    city = OfficialFactory(is_superuser=True)
    ours = ProposalFactory(district_id=JONGNO, author__district_id=SAJIK)
    theirs = ProposalFactory(district_id=GANGNAM, author__district_id=SINSA)
    our_comment = CommentFactory(poll=PollFactory(districts=[JONGNO]))
    their_comment = CommentFactory(poll=PollFactory(districts=[GANGNAM]))
    for proposal in (ours, theirs):
        proposals.hide_proposal(proposal=proposal, by=city, reason="욕설이 포함됨")
    for comment in (our_comment, their_comment):
        moderation.hide(obj=comment, by=city, reason="개인정보 노출")

    client.force_login(OfficialFactory(role="official", gu=JONGNO))
    page = client.get("/admin/audit/auditentry/")

    assert page.status_code == 200
    shown = {(e.subject_type, e.subject_id) for e in page.context["cl"].result_list}
    assert ("proposal", ours.pk) in shown and ("comment", our_comment.pk) in shown
    assert ("proposal", theirs.pk) not in shown and ("comment", their_comment.pk) not in shown
    assert AuditEntry.objects.filter(action=AuditEntry.Action.HIDE).count() == 4


def gu_official(client, gu: str = JONGNO):
    official = OfficialFactory(role="official", gu=gu)
    client.force_login(official)
    return official


def shown_in_admin(client) -> set[tuple[str, int | None]]:
    page = client.get("/admin/audit/auditentry/")
    assert page.status_code == 200
    return {(e.subject_type, e.subject_id) for e in page.context["cl"].result_list}


def test_a_gu_official_sees_their_polls_entries_and_no_citizens_or_groups(client):
    """Poll entries follow the polls the official may manage (voting registers them); subjects
    no producer registered (citizens, groups, admin history) are city-wide officials' only."""
    city = OfficialFactory(is_superuser=True)
    ours, theirs = PollFactory(districts=[SAJIK]), PollFactory(districts=[GANGNAM])
    seoul = PollFactory(districts=[])
    for poll in (ours, theirs, seoul):
        voting.duplicate_poll(poll=poll, by=city)
    copies = {
        entry.changes["from"]: entry.subject_id
        for entry in AuditEntry.objects.filter(action=AuditEntry.Action.DUPLICATE)
    }
    citizen_changed.send(
        sender=None, actor=city, citizen_id=41, action="request_change", changes={}
    )

    gu_official(client)
    shown = shown_in_admin(client)

    assert shown == {("poll", copies[ours.pk])}
    client.force_login(city)
    assert ("citizen", 41) in shown_in_admin(client)
    assert len(shown_in_admin(client)) == 4


def test_the_subject_link_goes_to_the_producers_admin_page(client):
    city = OfficialFactory(is_superuser=True)
    poll = PollFactory()
    proposal = ProposalFactory()
    voting.duplicate_poll(poll=poll, by=city)
    proposals.hide_proposal(proposal=proposal, by=city, reason="욕설이 포함됨")
    citizen_changed.send(
        sender=None, actor=city, citizen_id=41, action="request_change", changes={}
    )
    client.force_login(city)

    for entry in AuditEntry.objects.all():
        page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
        assert page.status_code == 200
        url = subjects.admin_url(entry.subject_type, entry.subject_id)
        if entry.subject_type == "citizen":
            assert url is None
        else:
            assert url is not None and url.endswith(f"/{entry.subject_id}/change/")
            assert url in page.content.decode()


def test_every_producer_registered_its_subjects():
    """voting, proposals and discussion fill the registry in their ready(): the log itself
    imports none of them."""
    assert set(subjects.registered()) == {"poll", "proposal", "comment"}
