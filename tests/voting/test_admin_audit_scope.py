"""The audit log in the admin: a gu official sees what happened in their gu, moderation too."""

import pytest
from django.contrib.auth.models import Group as Role

from discussion import services as discussion
from proposals import services as proposals
from tests.discussion.factories import CommentFactory
from tests.factories import OfficialFactory, PollFactory
from tests.proposals.factories import ProposalFactory
from voting.models import AuditEntry

pytestmark = pytest.mark.django_db

JONGNO = "1111000000"
SAJIK = "1111053000"
GANGNAM = "1168000000"
SINSA = "1168051000"


def test_a_gu_official_sees_the_moderation_of_their_gu_only(client):
    city = OfficialFactory(is_superuser=True)
    ours = ProposalFactory(district_id=JONGNO, author__district_id=SAJIK)
    theirs = ProposalFactory(district_id=GANGNAM, author__district_id=SINSA)
    our_comment = CommentFactory(poll=PollFactory(districts=[JONGNO]))
    their_comment = CommentFactory(poll=PollFactory(districts=[GANGNAM]))
    for proposal in (ours, theirs):
        proposals.hide_proposal(proposal=proposal, by=city, reason="욕설")
    for comment in (our_comment, their_comment):
        discussion.hide_comment(comment=comment, by=city, reason="개인정보")

    official = OfficialFactory(jurisdiction_id=JONGNO)
    official.groups.add(Role.objects.get(name="official"))
    client.force_login(official)
    page = client.get("/admin/voting/auditentry/")

    assert page.status_code == 200
    shown = {(e.subject_type, e.subject_id) for e in page.context["cl"].result_list}
    assert ("proposal", ours.pk) in shown and ("comment", our_comment.pk) in shown
    assert ("proposal", theirs.pk) not in shown and ("comment", their_comment.pk) not in shown
    assert AuditEntry.objects.filter(action=AuditEntry.Action.HIDE).count() == 4
