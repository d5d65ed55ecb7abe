"""Hiding and showing again: one rule set for every kind of hideable thing (proposals, comments)."""

from collections import Counter

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from audit.models import AuditEntry
from core.errors import exception_handler
from discussion.models import Comment
from moderation import errors, services
from proposals.models import Proposal
from tests.concurrency import run_at_once
from tests.discussion.factories import CommentFactory
from tests.factories import OfficialFactory
from tests.proposals.factories import ProposalFactory


@pytest.fixture(params=["proposal", "comment"])
def item(request, db):
    """One hideable thing of each kind: every test here holds for both."""
    if request.param == "proposal":
        return ProposalFactory(title="한강공원 야간 조명")
    return CommentFactory(body="전화번호는 010-0000-0000 입니다")


def as_response(exc: Exception):
    """The API's answer to ``exc`` (core.errors' format)."""
    request = APIRequestFactory().post("/api/v1/x/")
    return exception_handler(exc, {"view": APIView(), "request": request})


def test_hiding_records_who_when_why_and_an_audit_entry(item):
    official = OfficialFactory()

    hidden = services.hide(obj=item, by=official, reason="  개인정보 노출\r\n")

    item.refresh_from_db()
    assert hidden.is_hidden and item.is_hidden
    assert (item.hidden_by, item.hidden_reason) == (official, "개인정보 노출")
    assert type(item).objects.visible().filter(pk=item.pk).count() == 0
    assert list(type(item).objects.hidden()) == [item]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        AuditEntry.Action.HIDE,
        item.moderation_subject,
        item.pk,
    )
    assert entry.title == item.moderation_title()
    assert (entry.actor, entry.changes) == (official, {"reason": "개인정보 노출"})


def test_showing_again_clears_the_fields_and_keeps_the_old_reason_in_the_log(item):
    official = OfficialFactory()
    services.hide(obj=item, by=official, reason="개인정보 노출")

    services.unhide(obj=item, by=official, reason="작성자가 수정함")

    item.refresh_from_db()
    assert not item.is_hidden
    assert (item.hidden_at, item.hidden_by, item.hidden_reason) == (None, None, "")
    last = AuditEntry.objects.order_by("seq").last()
    assert last.action == AuditEntry.Action.UNHIDE
    assert last.changes == {"reason": "작성자가 수정함", "hidden_reason": "개인정보 노출"}


def test_hiding_twice_and_showing_what_is_shown_are_409s(item):
    official = OfficialFactory()
    with pytest.raises(errors.NotHidden) as not_hidden:
        services.unhide(obj=item, by=official, reason="다시 공개합니다")
    services.hide(obj=item, by=official, reason="개인정보 노출")
    with pytest.raises(errors.AlreadyHidden) as already:
        services.hide(obj=item, by=official, reason="다른 사유로 숨김")

    for caught, code in ((not_hidden, "not_hidden"), (already, "already_hidden")):
        response = as_response(caught.value)
        assert (response.status_code, response.data["code"]) == (409, code)
    item.refresh_from_db()
    assert item.hidden_reason == "개인정보 노출"  # the first decision stands
    assert AuditEntry.objects.count() == 1


@pytest.mark.parametrize("reason", [None, "", "   ", "x", " 욕 "])
def test_a_reason_of_at_least_two_characters_is_required_both_ways(item, reason):
    official = OfficialFactory()
    with pytest.raises(errors.ReasonRequired) as caught:
        services.hide(obj=item, by=official, reason=reason)
    response = as_response(caught.value)
    assert (response.status_code, response.data["code"]) == (400, "reason_required")

    services.hide(obj=item, by=official, reason="욕설")  # two characters say it in Korean
    with pytest.raises(errors.ReasonRequired):
        services.unhide(obj=item, by=official, reason=reason)
    item.refresh_from_db()
    assert item.is_hidden
    assert AuditEntry.objects.count() == 1


def test_a_reason_is_clean_text(item):
    with pytest.raises(ValidationError) as caught:
        services.hide(obj=item, by=OfficialFactory(), reason="사유\u202e입니다만")
    response = as_response(caught.value)
    assert response.status_code == 400
    assert response.data["fields"]["reason"]
    item.refresh_from_db()
    assert not item.is_hidden


def test_a_reason_is_at_most_500_characters(item):
    with pytest.raises(ValidationError) as caught:
        services.hide(obj=item, by=OfficialFactory(), reason="가" * 501)
    assert as_response(caught.value).status_code == 400
    services.hide(obj=item, by=OfficialFactory(), reason="가" * 500)


def test_the_object_passed_may_be_stale(item):
    """The decision is taken on the locked row, not on the caller's copy."""
    stale = type(item).objects.get(pk=item.pk)
    services.hide(obj=item, by=OfficialFactory(), reason="개인정보 노출")
    with pytest.raises(errors.AlreadyHidden):
        services.hide(obj=stale, by=OfficialFactory(), reason="개인정보 노출")


# --- Two officials at once, on PostgreSQL ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("model", [Proposal, Comment])
def test_two_officials_hiding_at_once_give_one_decision_and_one_409(model):
    item = ProposalFactory() if model is Proposal else CommentFactory()
    officials = OfficialFactory.create_batch(2)

    def hide(official) -> int:
        try:
            services.hide(obj=item, by=official, reason=f"{official.username}의 판단")
        except errors.AlreadyHidden:
            return 409
        return 200

    results = run_at_once([lambda o=o: hide(o) for o in officials])

    assert Counter(results) == {200: 1, 409: 1}
    item.refresh_from_db()
    assert item.hidden_reason == f"{item.hidden_by.username}의 판단"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.HIDE).count() == 1
