"""The comments API as the app uses it: who may write, what everyone reads, likes, reports."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Verification
from discussion.models import Comment, CommentLike, CommentReport
from tests.discussion.factories import CommentFactory, ProposalFactory, ReplyFactory
from tests.district_codes import JONGNO, SAJIK, SINSA
from tests.factories import (
    CitizenFactory,
    GroupFactory,
    GroupMembershipFactory,
    PollFactory,
    born,
)
from voting.casting import cast_ballot

pytestmark = pytest.mark.django_db


def comments_url(poll_id: int) -> str:
    return f"/api/v1/polls/{poll_id}/comments/"


def post(client, poll_id: int, body: str = "좋은 정책입니다.", parent: int | None = None):
    return client.post(comments_url(poll_id), {"body": body, "parent": parent}, format="json")


# --- Who may comment ---------------------------------------------------------------------------


def test_a_citizen_of_the_audience_comments(client_for):
    poll = PollFactory(districts=[JONGNO])
    author = CitizenFactory(district_id=SAJIK)

    response = post(client_for(author), poll.pk, "  버스 노선이 늘면 좋겠습니다.  ")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["body"] == "버스 노선이 늘면 좋겠습니다."
    assert body["is_mine"] is True
    assert body["parent"] is None
    assert body["replies"] == [] and body["reply_count"] == 0
    assert Comment.objects.get().author == author


def test_a_citizen_of_another_district_may_not_comment(client_for):
    poll = PollFactory(districts=[JONGNO])
    outsider = CitizenFactory(district_id=SINSA)

    response = post(client_for(outsider), poll.pk)

    assert response.status_code == 403
    assert response.json()["code"] == "not_in_audience"
    assert response.json()["reason"] == "district"
    assert not Comment.objects.exists()


def test_group_polls_take_comments_from_members_only(client_for):
    group = GroupFactory()
    poll = PollFactory(groups=[group])
    member = GroupMembershipFactory(group=group).user

    assert post(client_for(member), poll.pk).status_code == 201
    refused = post(client_for(CitizenFactory()), poll.pk)
    assert refused.status_code == 403
    assert refused.json() | {"detail": ""} == {
        "code": "not_in_audience",
        "reason": "group",
        "detail": "",
    }


def test_age_limited_polls_take_comments_from_that_age_only(client_for, clock):
    poll = PollFactory(min_age=19, max_age=29)

    assert post(client_for(CitizenFactory(birth_year=born(25))), poll.pk).status_code == 201
    refused = post(client_for(CitizenFactory(birth_year=born(40))), poll.pk)
    assert refused.status_code == 403
    assert refused.json()["reason"] == "age"
    incomplete = post(client_for(CitizenFactory(birth_year=None)), poll.pk)
    assert incomplete.json()["reason"] == "profile_incomplete"


def test_a_citizen_without_a_verified_phone_may_not_comment(client_for):
    poll = PollFactory(min_verification=Verification.UNVERIFIED)
    unverified = CitizenFactory(phone_verified=False, verification=Verification.UNVERIFIED)

    response = post(client_for(unverified), poll.pk)

    assert response.status_code == 403
    assert response.json()["code"] == "verification_required"


def test_a_resident_verified_poll_needs_resident_verification_to_comment(client_for):
    poll = PollFactory(min_verification=Verification.RESIDENT)

    response = post(client_for(CitizenFactory()), poll.pk)

    assert response.status_code == 403
    assert response.json()["reason"] == "verification"


def test_upcoming_and_recently_closed_polls_take_comments_but_not_long_closed_ones(citizen_api):
    now = timezone.now()
    upcoming = PollFactory(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=8))
    closed = PollFactory(opens_at=now - timedelta(days=10), closes_at=now - timedelta(days=2))
    long_closed = PollFactory(opens_at=now - timedelta(days=60), closes_at=now - timedelta(days=31))

    assert post(citizen_api, upcoming.pk).status_code == 201
    assert post(citizen_api, closed.pk).status_code == 201
    refused = post(citizen_api, long_closed.pk)
    assert refused.status_code == 409
    assert refused.json()["code"] == "discussion_closed"


def test_drafts_have_no_discussion(citizen_api):
    draft = PollFactory(published=False)

    assert post(citizen_api, draft.pk).status_code == 404
    assert citizen_api.get(comments_url(draft.pk)).status_code == 404
    assert citizen_api.get(comments_url(999_999)).status_code == 404


def test_signing_in_is_required(api):
    poll = PollFactory()

    assert api.get(comments_url(poll.pk)).status_code == 401
    assert post(api, poll.pk).status_code == 401


# --- Reading -----------------------------------------------------------------------------------


def test_anyone_signed_in_reads_a_published_polls_discussion_even_outside_its_audience(
    client_for,
):
    poll = PollFactory(districts=[JONGNO])
    CommentFactory(poll=poll, body="종로 의견")
    outsider = CitizenFactory(district_id=SINSA)

    response = client_for(outsider).get(comments_url(poll.pk))

    assert response.status_code == 200
    assert [c["body"] for c in response.json()["results"]] == ["종로 의견"]


def test_newest_first_by_default_and_most_liked_first_on_request(citizen_api):
    poll = PollFactory()
    now = timezone.now()
    old = CommentFactory(poll=poll, created_at=now - timedelta(hours=2), like_count=5)
    new = CommentFactory(poll=poll, created_at=now - timedelta(hours=1), like_count=1)
    middle = CommentFactory(poll=poll, created_at=now - timedelta(minutes=90), like_count=3)

    newest = citizen_api.get(comments_url(poll.pk)).json()["results"]
    liked = citizen_api.get(comments_url(poll.pk), {"order": "likes"}).json()["results"]

    assert [c["id"] for c in newest] == [new.pk, middle.pk, old.pk]
    assert [c["id"] for c in liked] == [old.pk, middle.pk, new.pk]
    assert citizen_api.get(comments_url(poll.pk), {"order": "random"}).status_code == 400


def test_threads_carry_their_first_replies_and_the_rest_is_one_request_away(citizen_api):
    poll = PollFactory()
    top = CommentFactory(poll=poll)
    now = timezone.now()
    replies = [ReplyFactory(parent=top, created_at=now + timedelta(seconds=i)) for i in range(5)]

    thread = citizen_api.get(comments_url(poll.pk)).json()["results"][0]

    assert thread["reply_count"] == 5
    assert [r["id"] for r in thread["replies"]] == [r.pk for r in replies[:3]]
    everything = citizen_api.get(f"/api/v1/comments/{top.pk}/replies/").json()
    assert everything["count"] == 5
    assert [r["id"] for r in everything["results"]] == [r.pk for r in replies]


def test_a_page_costs_the_same_number_of_queries_whatever_it_holds(
    citizen, citizen_api, django_assert_num_queries
):
    poll = PollFactory()

    def grow(threads: int) -> None:
        for _ in range(threads):
            top = CommentFactory(poll=poll)
            for reply in ReplyFactory.create_batch(4, parent=top):
                CommentLike.objects.create(comment=reply, user=citizen)
            CommentLike.objects.create(comment=top, user=citizen)

    grow(2)
    citizen_api.get(comments_url(poll.pk))  # warms authentication's cache (0 queries from then on)
    # The poll, the count, the page, the replies of the page.
    with django_assert_num_queries(4):
        small = citizen_api.get(comments_url(poll.pk))
    grow(15)
    with django_assert_num_queries(4):
        large = citizen_api.get(comments_url(poll.pk))

    assert small.json()["count"] == 2 and large.json()["count"] == 17
    page = large.json()["results"]
    assert len(page) == 17
    assert all(t["liked_by_me"] and len(t["replies"]) == 3 for t in page)
    assert all(r["liked_by_me"] for t in page for r in t["replies"])


def test_pages(citizen_api):
    poll = PollFactory()
    CommentFactory.create_batch(25, poll=poll)

    first = citizen_api.get(comments_url(poll.pk)).json()
    second = citizen_api.get(comments_url(poll.pk), {"page": 2}).json()

    assert first["count"] == 25 and len(first["results"]) == 20 and first["next"]
    assert len(second["results"]) == 5
    assert not {c["id"] for c in first["results"]} & {c["id"] for c in second["results"]}


# --- Threads are one level deep ----------------------------------------------------------------


def test_a_reply_joins_the_thread(citizen_api):
    top = CommentFactory()

    response = post(citizen_api, top.poll_id, "동의합니다", parent=top.pk)

    assert response.status_code == 201
    assert response.json()["parent"] == top.pk


def test_a_reply_to_a_reply_is_refused(citizen_api):
    reply = ReplyFactory()

    response = post(citizen_api, reply.poll_id, parent=reply.pk)

    assert response.status_code == 400
    assert response.json()["code"] == "reply_depth"


def test_a_reply_must_be_about_the_same_poll(citizen_api):
    elsewhere = CommentFactory()
    poll = PollFactory()

    response = post(citizen_api, poll.pk, parent=elsewhere.pk)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parent"


# --- Input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field_error"),
    [
        ("", True),
        ("   \n\t ", True),
        ("x" * 1001, True),
        ("nul\x00byte", True),
        ("bell\x07", True),
        ("spoof\u202eevil", True),
    ],
)
def test_bad_text_is_refused(citizen_api, body, field_error):
    poll = PollFactory()

    response = post(citizen_api, poll.pk, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert "body" in response.json()["fields"]
    assert not Comment.objects.exists()


def test_the_limit_is_counted_on_the_stripped_text_and_follows_the_setting(citizen_api, settings):
    poll = PollFactory()
    assert post(citizen_api, poll.pk, "  " + "가" * 1000 + "  ").status_code == 201
    settings.COMMENT_MAX_LENGTH = 10
    assert post(citizen_api, poll.pk, "가" * 11).status_code == 400


def test_multi_line_comments_keep_their_lines(citizen_api):
    poll = PollFactory()

    response = post(citizen_api, poll.pk, "첫 줄\r\n둘째 줄")

    assert response.json()["body"] == "첫 줄\n둘째 줄"


@pytest.mark.parametrize("payload", [{"body": 12}, {"body": "ok", "parent": "1"}, {}])
def test_wrongly_typed_input_is_refused(citizen_api, payload):
    poll = PollFactory()

    response = citizen_api.post(comments_url(poll.pk), payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


def test_writing_is_rate_limited(citizen_api, settings):
    settings.COMMENT_THROTTLE = "3/min,50/day"
    poll = PollFactory()

    statuses = [post(citizen_api, poll.pk, f"의견 {i}").status_code for i in range(4)]

    assert statuses == [201, 201, 201, 429]
    limited = post(citizen_api, poll.pk)
    assert limited.json()["code"] == "throttled"
    assert "Retry-After" in limited.headers
    # Reading is not limited by it.
    assert citizen_api.get(comments_url(poll.pk)).status_code == 200
    assert Comment.objects.count() == 3


def test_the_daily_limit_counts_too(citizen_api, settings):
    settings.COMMENT_THROTTLE = "100/min,2/day"
    poll = PollFactory()

    statuses = [post(citizen_api, poll.pk, f"의견 {i}").status_code for i in range(3)]

    assert statuses == [201, 201, 429]


# --- Likes -------------------------------------------------------------------------------------


def test_a_like_counts_once(citizen_api):
    comment = CommentFactory()
    url = f"/api/v1/comments/{comment.pk}/like/"

    first = citizen_api.post(url)
    second = citizen_api.post(url)

    assert first.status_code == 201
    assert first.json() == {"comment": comment.pk, "like_count": 1, "liked_by_me": True}
    assert second.status_code == 409
    assert second.json()["code"] == "already_liked"
    comment.refresh_from_db()
    assert comment.like_count == 1 == CommentLike.objects.count()
    thread = citizen_api.get(comments_url(comment.poll_id)).json()["results"][0]
    assert thread["like_count"] == 1 and thread["liked_by_me"] is True


def test_unlike_takes_the_like_back_and_never_below_zero(citizen_api, client_for):
    comment = CommentFactory()
    url = f"/api/v1/comments/{comment.pk}/like/"
    client_for(CitizenFactory()).post(url)
    citizen_api.post(url)

    assert citizen_api.delete(url).status_code == 204
    assert citizen_api.delete(url).status_code == 204

    comment.refresh_from_db()
    assert comment.like_count == 1 == CommentLike.objects.count()
    thread = citizen_api.get(comments_url(comment.poll_id)).json()["results"][0]
    assert thread["liked_by_me"] is False


def test_a_hidden_comment_cannot_be_liked(citizen_api):
    comment = CommentFactory(hidden_at=timezone.now(), hidden_reason="욕설")

    response = citizen_api.post(f"/api/v1/comments/{comment.pk}/like/")

    assert response.status_code == 409
    assert response.json()["code"] == "comment_unavailable"
    assert not CommentLike.objects.exists()


def test_comments_on_drafts_cannot_be_reached(citizen_api):
    comment = CommentFactory(poll=PollFactory(published=False))

    assert citizen_api.post(f"/api/v1/comments/{comment.pk}/like/").status_code == 404
    assert citizen_api.get(f"/api/v1/comments/{comment.pk}/replies/").status_code == 404


# --- Reports -----------------------------------------------------------------------------------


def test_a_report_is_taken_once(citizen_api):
    comment = CommentFactory()
    url = f"/api/v1/comments/{comment.pk}/report/"

    first = citizen_api.post(url, {"reason": "abuse", "note": "욕설이 있습니다"}, format="json")
    second = citizen_api.post(url, {"reason": "spam"}, format="json")

    assert first.status_code == 201
    assert first.json() == {"comment": comment.pk, "reason": "abuse"}
    assert second.status_code == 409
    assert second.json()["code"] == "already_reported"
    comment.refresh_from_db()
    assert comment.report_count == 1
    assert CommentReport.objects.get().note == "욕설이 있습니다"


def test_reports_from_different_citizens_add_up(client_for):
    comment = CommentFactory()
    for _ in range(3):
        client_for(CitizenFactory()).post(
            f"/api/v1/comments/{comment.pk}/report/", {"reason": "spam"}, format="json"
        )

    comment.refresh_from_db()
    assert comment.report_count == 3


def test_reporting_your_own_comment_is_refused(client_for):
    comment = CommentFactory()

    response = client_for(comment.author).post(
        f"/api/v1/comments/{comment.pk}/report/", {"reason": "other"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "own_comment"


def test_a_report_needs_a_known_reason(citizen_api):
    comment = CommentFactory()

    response = citizen_api.post(
        f"/api/v1/comments/{comment.pk}/report/", {"reason": "boring"}, format="json"
    )

    assert response.status_code == 400
    assert "reason" in response.json()["fields"]


# --- Hidden comments ---------------------------------------------------------------------------


def test_a_hidden_comment_keeps_its_place_but_only_its_author_reads_it(client_for):
    comment = CommentFactory(hidden_at=timezone.now(), hidden_reason="개인정보 포함")
    ReplyFactory(parent=comment)

    others = client_for(CitizenFactory()).get(comments_url(comment.poll_id)).json()["results"]
    own = client_for(comment.author).get(comments_url(comment.poll_id)).json()["results"]

    assert others[0]["id"] == comment.pk
    assert others[0]["hidden"] is True
    assert others[0]["body"] is None
    assert others[0]["hidden_reason"] is None
    assert others[0]["author"] is None
    assert others[0]["reply_count"] == 1
    assert own[0]["body"] == comment.body
    assert own[0]["hidden"] is True
    assert own[0]["hidden_reason"] == "개인정보 포함"


# --- Deletion by the author --------------------------------------------------------------------


def test_the_author_deletes_a_comment_without_replies(client_for):
    comment = CommentFactory()

    response = client_for(comment.author).delete(f"/api/v1/comments/{comment.pk}/")

    assert response.status_code == 204
    assert not Comment.objects.exists()


def test_a_deleted_comment_with_replies_stays_as_a_placeholder(client_for, citizen_api):
    comment = CommentFactory()
    reply = ReplyFactory(parent=comment)

    assert client_for(comment.author).delete(f"/api/v1/comments/{comment.pk}/").status_code == 204

    thread = citizen_api.get(comments_url(comment.poll_id)).json()["results"][0]
    assert thread["deleted"] is True
    assert thread["body"] is None and thread["author"] is None
    assert [r["id"] for r in thread["replies"]] == [reply.pk]
    assert Comment.objects.get(pk=comment.pk).body == ""
    # Once its last reply goes, the placeholder has nothing left to hold.
    assert client_for(reply.author).delete(f"/api/v1/comments/{reply.pk}/").status_code == 204
    assert not Comment.objects.exists()


def test_only_the_author_deletes(citizen_api):
    comment = CommentFactory()

    response = citizen_api.delete(f"/api/v1/comments/{comment.pk}/")

    assert response.status_code == 403
    assert response.json()["code"] == "not_your_comment"
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_a_deleted_placeholder_takes_no_reply_nor_like(client_for, citizen_api):
    comment = CommentFactory()
    ReplyFactory(parent=comment)
    client_for(comment.author).delete(f"/api/v1/comments/{comment.pk}/")

    assert post(citizen_api, comment.poll_id, parent=comment.pk).status_code == 409
    assert citizen_api.post(f"/api/v1/comments/{comment.pk}/like/").status_code == 409
    assert client_for(comment.author).delete(f"/api/v1/comments/{comment.pk}/").status_code == 404


# --- Nothing reveals the author's vote or identity ---------------------------------------------


def test_a_comment_says_nothing_of_its_authors_vote_or_identity(client_for):
    poll = PollFactory()
    voter = CitizenFactory(district_id=SAJIK, birth_year=1980, display_name="홍길동")
    abstainer = CitizenFactory(district_id=SAJIK, birth_year=1980, display_name="김철수")
    cast_ballot(poll=poll, voter=voter, option_ids=[poll.options.first().pk])
    post(client_for(voter), poll.pk, "투표했어요?")
    post(client_for(abstainer), poll.pk, "투표했어요?")
    reader = client_for(CitizenFactory())

    threads = reader.get(comments_url(poll.pk)).json()["results"]

    assert len(threads) == 2
    expected_keys = {
        "id",
        "parent",
        "author",
        "is_mine",
        "body",
        "created_at",
        "like_count",
        "liked_by_me",
        "hidden",
        "hidden_reason",
        "deleted",
        "reply_count",
        "replies",
    }
    for thread in threads:
        assert set(thread) == expected_keys
        assert thread["author"].startswith("Citizen ") or thread["author"].startswith("시민 ")
    # The two comments differ in nothing but id, pseudonym and time: voting left no trace.
    a, b = (
        {k: v for k, v in t.items() if k not in ("id", "author", "created_at")} for t in threads
    )
    assert a == b
    text = str(threads)
    for secret in (voter.phone, abstainer.phone, "홍길동", "김철수", "찬성", "반대"):
        assert secret not in text


def test_the_pseudonym_is_stable_in_a_poll_and_differs_across_polls(client_for):
    author = CitizenFactory()
    client = client_for(author)
    one, other = PollFactory(), PollFactory()

    first = post(client, one.pk, "하나").json()["author"]
    second = post(client, one.pk, "둘").json()["author"]
    elsewhere = [post(client, p.pk, "셋").json()["author"] for p in PollFactory.create_batch(3)]

    assert first == second
    assert len({first, *elsewhere}) == 4  # four 50-bit tags: a collision is ~1e-14
    assert other  # the pseudonym says nothing of who it is
    assert author.phone not in first


# --- Proposals ---------------------------------------------------------------------------------


def test_any_verified_citizen_comments_on_a_visible_proposal(client_for, citizen_api):
    proposal = ProposalFactory()
    url = f"/api/v1/proposals/{proposal.pk}/comments/"

    created = citizen_api.post(url, {"body": "찬성합니다"}, format="json")
    unverified = CitizenFactory(phone_verified=False, verification=Verification.UNVERIFIED)
    refused = client_for(unverified).post(url, {"body": "저도요"}, format="json")

    assert created.status_code == 201, created.json()
    assert refused.status_code == 403
    assert refused.json()["code"] == "verification_required"
    listed = citizen_api.get(url).json()["results"]
    assert [c["body"] for c in listed] == ["찬성합니다"]
    assert Comment.objects.get().proposal_id == proposal.pk


def test_hidden_proposals_have_no_discussion(citizen_api):
    proposal = ProposalFactory(hidden_at=timezone.now(), hidden_reason="광고")
    comment = CommentFactory(poll=None, proposal=proposal)
    url = f"/api/v1/proposals/{proposal.pk}/comments/"

    assert citizen_api.get(url).status_code == 404
    assert citizen_api.post(url, {"body": "안녕"}, format="json").status_code == 404
    assert citizen_api.post(f"/api/v1/comments/{comment.pk}/like/").status_code == 404


def test_a_proposal_reply_stays_within_its_proposal(citizen_api):
    proposal = ProposalFactory()
    top = CommentFactory(poll=None, proposal=proposal)
    url = f"/api/v1/proposals/{proposal.pk}/comments/"

    reply = citizen_api.post(url, {"body": "동의", "parent": top.pk}, format="json")
    wrong = citizen_api.post(
        f"/api/v1/proposals/{ProposalFactory().pk}/comments/",
        {"body": "동의", "parent": top.pk},
        format="json",
    )

    assert reply.status_code == 201
    assert wrong.status_code == 400


def test_a_draft_stays_unknown_to_an_unverified_citizen_too(client_for):
    draft = PollFactory(published=False)
    unverified = CitizenFactory(phone_verified=False, verification=Verification.UNVERIFIED)

    assert post(client_for(unverified), draft.pk).status_code == 404


def test_likes_and_reports_need_a_verified_phone(client_for):
    comment = CommentFactory()
    client = client_for(CitizenFactory(phone_verified=False, verification=Verification.UNVERIFIED))

    liked = client.post(f"/api/v1/comments/{comment.pk}/like/")
    reported = client.post(
        f"/api/v1/comments/{comment.pk}/report/", {"reason": "spam"}, format="json"
    )

    assert liked.status_code == reported.status_code == 403
    assert liked.json()["code"] == "verification_required"
    comment.refresh_from_db()
    assert comment.like_count == comment.report_count == 0


def test_pseudonyms_do_not_collide_among_thousands_of_commenters():
    """Promise: a pseudonym points at one citizen in a thread. Attacker: a reader (or a troll
    hoping to be taken for someone else) in a thread with thousands of commenters. With 16-bit
    tags a few hundred commenters already shared labels; the tag now carries 50 bits, written in
    Crockford's base32 (two groups of five), still the same per subject and author."""
    import re

    from django.utils import translation

    from discussion.models import Comment
    from discussion.serializers import pseudonym

    with translation.override("en"):
        labels = {pseudonym(Comment(poll_id=7, author_id=author)) for author in range(1, 5001)}

    assert len(labels) == 5000
    for label in list(labels)[:50]:
        assert re.fullmatch(r"Citizen [0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", label), label
    assert pseudonym(Comment(poll_id=7, author_id=1)) == pseudonym(Comment(poll_id=7, author_id=1))
    # Unlinkable: the same citizen on another poll, or on a proposal, has an unrelated tag.
    same_author = {
        pseudonym(Comment(poll_id=7, author_id=1)),
        pseudonym(Comment(poll_id=8, author_id=1)),
        pseudonym(Comment(proposal_id=7, author_id=1)),
    }
    assert len(same_author) == 3
