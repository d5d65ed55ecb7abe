"""The shared admin side of hiding: one list filter, one reason form, one pair of actions, on
the proposals' and the comments' lists alike (real admin requests)."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone, translation

from audit.models import AuditEntry
from tests.discussion.factories import CommentFactory
from tests.district_codes import GANGNAM, JONGNO
from tests.factories import OfficialFactory, PollFactory
from tests.proposals.factories import ProposalFactory

pytestmark = pytest.mark.django_db

LISTS = {
    "proposal": ("/admin/proposals/proposal/", ProposalFactory),
    "comment": ("/admin/discussion/comment/", CommentFactory),
}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(params=sorted(LISTS))
def kind(request) -> str:
    return request.param


def login(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def act(client: Client, url: str, action: str, items, **data):
    return client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [i.pk for i in items], **data})


def test_the_hidden_filter(kind):
    url, make = LISTS[kind]
    shown = make()
    hidden = make(hidden_at=timezone.now(), hidden_reason="개인정보 노출")
    client = login(OfficialFactory(role="official"))

    def listed(**params) -> set[int]:
        return {o.pk for o in client.get(url, params).context["cl"].result_list}

    assert listed(hidden="yes") == {hidden.pk}
    assert listed(hidden="no") == {shown.pk}
    assert listed() == {shown.pk, hidden.pk}


def test_hiding_asks_for_a_reason_then_hides_and_audits(kind):
    url, make = LISTS[kind]
    items = [make(), make()]
    official = OfficialFactory(role="official")
    client = login(official)

    form = act(client, url, "hide_selected", items)
    too_short = act(client, url, "hide_selected", items, apply="yes", reason="x")
    done = act(client, url, "hide_selected", items, apply="yes", reason="욕설이 포함됨")

    assert form.status_code == 200 and b'name="reason"' in form.content
    assert too_short.status_code == 200 and too_short.context["form"].errors["reason"]
    assert done.status_code == 302
    for item in items:
        item.refresh_from_db()
        assert (item.is_hidden, item.hidden_by, item.hidden_reason) == (
            True,
            official,
            "욕설이 포함됨",
        )
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.HIDE)
    assert sorted(entries.values_list("subject_type", "subject_id")) == sorted(
        (kind, item.pk) for item in items
    )


def test_already_hidden_items_are_reported_and_the_others_done(kind):
    url, make = LISTS[kind]
    hidden = make(hidden_at=timezone.now(), hidden_reason="먼저 숨김")
    shown = make()
    client = login(OfficialFactory(role="official"))

    response = act(
        client, url, "hide_selected", [hidden, shown], apply="yes", reason="광고성 게시물"
    )

    assert response.status_code == 302
    shown.refresh_from_db()
    hidden.refresh_from_db()
    assert shown.hidden_reason == "광고성 게시물"
    assert hidden.hidden_reason == "먼저 숨김"  # the earlier decision stands
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("1 item updated" in n for n in notes)
    assert any("This is already hidden." in n for n in notes)


def test_showing_again_needs_a_reason_too(kind):
    url, make = LISTS[kind]
    item = make(hidden_at=timezone.now(), hidden_reason="개인정보 노출")
    client = login(OfficialFactory(role="official"))

    refused = act(client, url, "unhide_selected", [item], apply="yes")
    done = act(client, url, "unhide_selected", [item], apply="yes", reason="작성자가 수정함")

    assert refused.status_code == 200 and refused.context["form"].errors["reason"]
    assert done.status_code == 302
    item.refresh_from_db()
    assert not item.is_hidden
    entry = AuditEntry.objects.get()
    assert entry.changes == {"reason": "작성자가 수정함", "hidden_reason": "개인정보 노출"}


def test_a_gu_official_hides_only_within_the_gu():
    outside_proposal = ProposalFactory(district_id=GANGNAM)
    outside_comment = CommentFactory(poll=PollFactory(districts=[GANGNAM]))
    inside = ProposalFactory(district_id=JONGNO)
    client = login(OfficialFactory(role="official", gu=JONGNO))

    for url, items in (
        (LISTS["proposal"][0], [outside_proposal, inside]),
        (LISTS["comment"][0], [outside_comment]),
    ):
        act(client, url, "hide_selected", items, apply="yes", reason="개인정보 노출")

    for item in (outside_proposal, outside_comment, inside):
        item.refresh_from_db()
    assert not outside_proposal.is_hidden and not outside_comment.is_hidden
    assert inside.is_hidden
