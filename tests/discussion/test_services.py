"""The comment services and the database rules under them, concurrency included."""

from collections import Counter

import pytest
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.services import delete_account
from audit.models import AuditEntry
from discussion import services
from discussion.models import Comment, CommentLike, CommentReport
from discussion.selectors import Subject
from moderation import errors as moderation_errors
from moderation import services as moderation
from tests.concurrency import run_at_once
from tests.conftest import make_session_token
from tests.discussion.factories import CommentFactory, ProposalFactory, ReplyFactory
from tests.factories import CitizenFactory, OfficialFactory, PollFactory

# --- Text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  안녕하세요 \n", "안녕하세요"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("탭\t허용", "탭\t허용"),
        ("👩‍👩‍👧 가족", "👩‍👩‍👧 가족"),  # emoji joined by ZWJ are fine
    ],
)
def test_clean_body_keeps_ordinary_text(raw, stored):
    assert services.clean_body(raw) == stored


@pytest.mark.parametrize("raw", ["", "  ", "\x00", "a\x1bb", "\ud800", "\u2066x", "x" * 1001])
def test_clean_body_refuses(raw):
    with pytest.raises(ValidationError):
        services.clean_body(raw)


# --- Database rules ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_comment_is_about_exactly_one_subject():
    poll, proposal, author = PollFactory(), ProposalFactory(), CitizenFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.create(poll=poll, proposal=proposal, author=author, body="둘 다")
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.create(author=author, body="아무것도")


@pytest.mark.django_db
def test_the_database_keeps_one_like_per_citizen():
    comment, citizen = CommentFactory(), CitizenFactory()
    CommentLike.objects.create(comment=comment, user=citizen)

    with pytest.raises(IntegrityError), transaction.atomic():
        CommentLike.objects.create(comment=comment, user=citizen)


@pytest.mark.django_db
def test_like_and_report_map_the_constraint_to_their_errors():
    comment, citizen = CommentFactory(), CitizenFactory()
    services.like(user=citizen, comment_id=comment.pk)
    services.report(user=citizen, comment_id=comment.pk, reason="spam")

    with pytest.raises(services.AlreadyLiked):
        services.like(user=citizen, comment_id=comment.pk)
    with pytest.raises(services.AlreadyReported):
        services.report(user=citizen, comment_id=comment.pk, reason="abuse")
    comment.refresh_from_db()
    assert (comment.like_count, comment.report_count) == (1, 1)


@pytest.mark.django_db
def test_a_deleted_account_leaves_its_likes_counted_and_its_comments_anonymous(client_for):
    comment = CommentFactory()
    liker = CitizenFactory()
    services.like(user=liker, comment_id=comment.pk)
    author = comment.author

    delete_account(user=liker)
    delete_account(user=author)

    comment.refresh_from_db()
    assert comment.like_count == 1 == CommentLike.objects.filter(comment=comment).count()
    thread = client_for(CitizenFactory()).get(f"/api/v1/polls/{comment.poll_id}/comments/")
    assert thread.json()["results"][0]["author"] is None
    assert thread.json()["results"][0]["body"] == comment.body


@pytest.mark.django_db
def test_post_comment_on_a_proposal_and_a_poll():
    citizen = CitizenFactory()
    on_poll = services.post_comment(
        user=citizen, subject=Subject("poll", PollFactory().pk), body="폴"
    )
    on_proposal = services.post_comment(
        user=citizen, subject=Subject("proposal", ProposalFactory().pk), body="제안"
    )

    assert on_poll.poll_id and not on_poll.proposal_id
    assert on_proposal.proposal_id and not on_proposal.poll_id


@pytest.mark.django_db
def test_deleting_a_reply_leaves_a_live_parent_alone():
    top = CommentFactory()
    reply = ReplyFactory(parent=top)

    services.delete_comment(user=reply.author, comment_id=reply.pk)

    assert list(Comment.objects.all()) == [top]


# --- Moderation ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_hiding_needs_a_reason_is_audited_and_hiding_twice_is_refused():
    comment = CommentFactory(body="가" * 100)
    official = OfficialFactory()

    for missing in ("   ", "x"):  # blank, or too short for the author to learn anything
        with pytest.raises(moderation_errors.ReasonRequired):
            moderation.hide(obj=comment, by=official, reason=missing)
    moderation.hide(obj=comment, by=official, reason="욕설이 포함됨")
    # Hiding what is hidden used to be silently ignored: now the second official learns that
    # someone decided first (409), as for proposals.
    with pytest.raises(moderation_errors.AlreadyHidden):
        moderation.hide(obj=comment, by=official, reason="다시 숨김 처리")

    comment.refresh_from_db()
    assert comment.hidden_reason == "욕설이 포함됨" and comment.hidden_by == official
    entry = AuditEntry.objects.get()
    assert entry.subject_type == AuditEntry.Subject.COMMENT
    assert entry.subject_id == comment.pk
    assert entry.action == AuditEntry.Action.HIDE
    assert entry.changes == {"reason": "욕설이 포함됨"}
    assert entry.title == "가" * 80
    assert entry.actor_name == official.username


@pytest.mark.django_db
def test_unhiding_shows_it_again_and_is_audited():
    comment = CommentFactory()
    official = OfficialFactory()
    moderation.hide(obj=comment, by=official, reason="오해의 소지")

    moderation.unhide(obj=comment, by=official, reason="재검토 결과 문제 없음")

    comment.refresh_from_db()
    assert comment.hidden_at is None and comment.hidden_reason == ""
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == [AuditEntry.Action.HIDE, AuditEntry.Action.UNHIDE]
    # One key for every kind (comments used to say "hidden_for").
    assert AuditEntry.objects.order_by("id").last().changes == {
        "reason": "재검토 결과 문제 없음",
        "hidden_reason": "오해의 소지",
    }
    # Showing what is shown used to be silently ignored: now a 409 too.
    with pytest.raises(moderation_errors.NotHidden):
        moderation.unhide(obj=comment, by=official, reason="재검토 결과 문제 없음")


# --- Concurrency, on PostgreSQL -----------------------------------------------------------------


def post_like(token: str, comment_id: int) -> int:
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    return client.post(f"/api/v1/comments/{comment_id}/like/").status_code


@pytest.fixture
def _no_reaction_limit(settings):
    settings.COMMENT_REACTION_THROTTLE = "100000/min"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_no_reaction_limit")
def test_simultaneous_likes_of_many_citizens_all_count_exactly():
    comment = CommentFactory()
    tokens = [make_session_token(CitizenFactory()) for _ in range(30)]

    statuses = run_at_once([lambda t=t: post_like(t, comment.pk) for t in tokens])

    assert Counter(statuses) == {201: 30}
    comment.refresh_from_db()
    assert comment.like_count == 30 == CommentLike.objects.filter(comment=comment).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_no_reaction_limit")
def test_simultaneous_likes_of_one_citizen_count_once():
    comment = CommentFactory()
    token = make_session_token(CitizenFactory())

    statuses = run_at_once([lambda: post_like(token, comment.pk)] * 20)

    assert Counter(statuses) == {201: 1, 409: 19}
    comment.refresh_from_db()
    assert comment.like_count == 1 == CommentLike.objects.filter(comment=comment).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_no_reaction_limit")
def test_simultaneous_reports_of_one_citizen_count_once():
    comment = CommentFactory()
    token = make_session_token(CitizenFactory())

    def post_report() -> int:
        client = APIClient()
        client.credentials(HTTP_X_SESSION_TOKEN=token)
        return client.post(
            f"/api/v1/comments/{comment.pk}/report/", {"reason": "spam"}, format="json"
        ).status_code

    statuses = run_at_once([post_report] * 10)

    assert Counter(statuses) == {201: 1, 409: 9}
    comment.refresh_from_db()
    assert comment.report_count == 1 == CommentReport.objects.count()
