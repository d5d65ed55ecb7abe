"""Officials moderate comments in the admin: reported first, hidden with a reason, scoped by gu.

Real admin HTTP requests, as in tests/voting/test_admin.py, by officials of the ready "official"
role, which carries the moderation permissions (accounts/roles.py).
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.utils import timezone, translation

from audit.models import AuditEntry
from discussion.models import Comment
from tests.discussion.factories import CommentFactory, ProposalFactory
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import CitizenFactory, OfficialFactory, PollFactory

pytestmark = pytest.mark.django_db

URL = "/admin/discussion/comment/"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def login(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def listed_ids(response) -> list[int]:
    return [c.pk for c in response.context["cl"].result_list]


def test_reported_comments_come_first():
    quiet = CommentFactory()
    most = CommentFactory(report_count=5)
    some = CommentFactory(report_count=2)

    response = login(OfficialFactory(role="official")).get(URL)

    assert response.status_code == 200
    assert listed_ids(response) == [most.pk, some.pk, quiet.pk]


def test_filters_and_search():
    hidden = CommentFactory(hidden_at=timezone.now(), hidden_reason="x", body="광고 링크")
    reported = CommentFactory(report_count=1, body="평범한 의견")
    on_proposal = CommentFactory(poll=None, proposal=ProposalFactory(), body="제안 의견")
    client = login(OfficialFactory(role="official"))

    assert listed_ids(client.get(URL, {"hidden": "yes"})) == [hidden.pk]
    assert listed_ids(client.get(URL, {"reported": "yes"})) == [reported.pk]
    assert listed_ids(client.get(URL, {"subject": "proposal"})) == [on_proposal.pk]
    assert listed_ids(client.get(URL, {"q": "광고"})) == [hidden.pk]


def test_a_gu_official_sees_only_comments_in_the_gu():
    inside = CommentFactory(poll=PollFactory(districts=[SAJIK]))
    outside = CommentFactory(poll=PollFactory(districts=[GANGNAM]))
    city_wide = CommentFactory(poll=PollFactory())
    gu_proposal = CommentFactory(poll=None, proposal=ProposalFactory(district_id=JONGNO))
    other_proposal = CommentFactory(poll=None, proposal=ProposalFactory(district_id=GANGNAM))

    jongno = login(OfficialFactory(role="official", gu=JONGNO))
    city = login(OfficialFactory(role="official"))

    assert set(listed_ids(jongno.get(URL))) == {inside.pk, gu_proposal.pk}
    assert jongno.get(f"{URL}{outside.pk}/change/").status_code == 302  # "doesn't exist"
    assert set(listed_ids(city.get(URL))) == {
        inside.pk,
        outside.pk,
        city_wide.pk,
        gu_proposal.pk,
        other_proposal.pk,
    }


def test_hiding_asks_for_a_reason_first():
    comment = CommentFactory()
    client = login(OfficialFactory(role="official"))

    form = client.post(URL, {"action": "hide_selected", ACTION_CHECKBOX_NAME: [comment.pk]})
    missing = client.post(
        URL,
        {"action": "hide_selected", ACTION_CHECKBOX_NAME: [comment.pk], "apply": "yes"},
    )

    assert form.status_code == 200
    assert b'name="reason"' in form.content
    assert missing.status_code == 200  # the form again, with its error
    assert missing.context["form"].errors
    comment.refresh_from_db()
    assert comment.hidden_at is None
    assert not AuditEntry.objects.exists()


def test_hiding_with_a_reason_hides_audits_and_the_author_reads_why(client_for):
    comment = CommentFactory(body="전화번호는 010-1234-5678 입니다")
    official = OfficialFactory(role="official")

    response = login(official).post(
        URL,
        {
            "action": "hide_selected",
            ACTION_CHECKBOX_NAME: [comment.pk],
            "apply": "yes",
            "reason": "Personal data",
        },
    )

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.hidden_at is not None and comment.hidden_by == official
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        AuditEntry.Action.HIDE,
        AuditEntry.Subject.COMMENT,
        comment.pk,
    )
    assert entry.changes == {"reason": "Personal data"}

    url = f"/api/v1/polls/{comment.poll_id}/comments/"
    own = client_for(comment.author).get(url).json()["results"][0]
    other = client_for(CitizenFactory()).get(url).json()["results"][0]
    assert own["hidden_reason"] == "Personal data" and own["body"] == comment.body
    assert other["hidden"] is True and other["body"] is None and other["hidden_reason"] is None
    assert "010-1234-5678" not in str(other)


def test_unhiding_shows_the_comment_again():
    comment = CommentFactory(hidden_at=timezone.now(), hidden_reason="실수로 숨김")
    client = login(OfficialFactory(role="official"))
    action = {"action": "unhide_selected", ACTION_CHECKBOX_NAME: [comment.pk], "apply": "yes"}

    missing = client.post(URL, action)  # showing again needs a reason too, for the audit log
    response = client.post(URL, {**action, "reason": "실수로 숨겼습니다"})

    assert missing.status_code == 200 and missing.context["form"].errors
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.hidden_at is None
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.UNHIDE
    assert entry.changes == {"reason": "실수로 숨겼습니다", "hidden_reason": "실수로 숨김"}


def test_a_gu_official_cannot_hide_a_comment_outside_the_gu():
    outside = CommentFactory(poll=PollFactory(districts=[GANGNAM]))

    login(OfficialFactory(role="official", gu=JONGNO)).post(
        URL,
        {
            "action": "hide_selected",
            ACTION_CHECKBOX_NAME: [outside.pk],
            "apply": "yes",
            "reason": "개인정보 노출",
        },
    )

    outside.refresh_from_db()
    assert outside.hidden_at is None


def test_officials_neither_write_nor_delete_comments():
    comment = CommentFactory(body="원문")
    client = login(OfficialFactory(role="official"))

    page = client.get(f"{URL}{comment.pk}/change/")
    client.post(f"{URL}{comment.pk}/change/", {"body": "고친 글"})

    assert page.status_code == 200
    assert client.get(f"{URL}add/").status_code == 403
    assert client.get(f"{URL}{comment.pk}/delete/").status_code == 403
    assert Comment.objects.get().body == "원문"
    # The author appears as the thread's pseudonym: no phone, no account link.
    assert comment.author.phone.encode() not in page.content
