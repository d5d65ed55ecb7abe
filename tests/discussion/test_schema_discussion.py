"""Comments, replies, likes and reports as the OpenAPI schema describes them to app developers:
enums for the report reason, the errors each operation can give, and every real answer matching
its schema with no undocumented key."""

import pytest
from django.utils import timezone

from discussion.models import CommentReport
from tests.discussion.factories import CommentFactory, ProposalFactory, ReplyFactory
from tests.district_codes import JONGNO, SINSA
from tests.factories import CitizenFactory, PollFactory
from tests.schema_answers import assert_documented, component, documented_statuses, ref_of

pytestmark = pytest.mark.django_db

KEY = "5a0c1f8e-7d2b-4c3a-9e1f-0a1b2c3d4e5f"


def test_a_reports_reason_is_the_same_enum_asked_and_answered():
    asked = component("ReportRequestRequest")["properties"]["reason"]
    answered = component("ReportResponse")["properties"]["reason"]

    assert ref_of(asked) == ref_of(answered) == "ReportReasonEnum"
    assert component("ReportReasonEnum")["enum"] == ["spam", "abuse", "personal_data", "other"]
    assert component("ReportReasonEnum")["enum"] == list(CommentReport.Reason.values)


def test_a_comment_and_a_reply_list_every_key_as_required():
    for name in ("Comment", "Reply", "LikeResponse", "ReportResponse"):
        schema = component(name)
        assert set(schema["required"]) == set(schema["properties"]), name
    assert ref_of(component("Comment")["properties"]["replies"]["items"]) == "Reply"


def test_each_operation_documents_the_errors_it_can_give():
    for subject in ("/api/v1/polls/{poll_id}", "/api/v1/proposals/{proposal_id}"):
        # Reading is never throttled and sends no body.
        assert documented_statuses("GET", f"{subject}/comments/") == {200, 400, 401, 404, 503}
        # Posting takes a JSON body and an Idempotency-Key.
        assert documented_statuses("POST", f"{subject}/comments/") == {
            201,
            400,
            401,
            403,
            404,
            409,
            413,
            415,
            422,
            429,
            503,
        }
    assert documented_statuses("GET", "/api/v1/comments/{comment_id}/replies/") == {
        200,
        400,
        401,
        404,
        503,
    }
    # Likes and deletions send no body: no 400, 413 or 415.
    assert documented_statuses("POST", "/api/v1/comments/{comment_id}/like/") == {
        201,
        401,
        403,
        404,
        409,
        429,
        503,
    }
    for path in ("/api/v1/comments/{comment_id}/like/", "/api/v1/comments/{comment_id}/"):
        assert documented_statuses("DELETE", path) == {204, 401, 403, 404, 429, 503}
    assert documented_statuses("POST", "/api/v1/comments/{comment_id}/report/") == {
        201,
        400,
        401,
        403,
        404,
        409,
        413,
        415,
        429,
        503,
    }


def test_reading_a_discussion_answers_as_documented(client_for):
    poll = PollFactory()
    reader = CitizenFactory()
    top = CommentFactory(poll=poll, author=reader)
    ReplyFactory(parent=top)
    CommentFactory(poll=poll, author=reader, hidden_at=timezone.now(), hidden_reason="욕설")
    CommentFactory(poll=poll, deleted_at=timezone.now())
    proposal = ProposalFactory()
    CommentFactory(poll=None, proposal=proposal)
    client = client_for(reader)

    answers = [
        client.get(f"/api/v1/polls/{poll.pk}/comments/"),
        client.get(f"/api/v1/polls/{poll.pk}/comments/", {"order": "likes"}),
        client.get(f"/api/v1/proposals/{proposal.pk}/comments/"),
        client.get(f"/api/v1/comments/{top.pk}/replies/"),
        client.get(f"/api/v1/polls/{poll.pk}/comments/", {"order": "oldest"}),
        client.get("/api/v1/polls/999999/comments/"),
    ]

    assert [r.status_code for r in answers] == [200, 200, 200, 200, 400, 404]
    for response in answers:
        assert_documented(response)


def test_writing_answers_as_documented(client_for):
    poll = PollFactory(districts=[JONGNO])
    author = CitizenFactory(district_id=JONGNO)
    client = client_for(author)
    url = f"/api/v1/polls/{poll.pk}/comments/"

    posted = client.post(url, {"body": "좋습니다."}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    replayed = client.post(url, {"body": "좋습니다."}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    mismatch = client.post(url, {"body": "다릅니다."}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    not_json = client.post(url, "body=x", content_type="text/plain")
    outsider = client_for(CitizenFactory(district_id=SINSA)).post(
        url, {"body": "저도요."}, format="json"
    )

    answers = [posted, replayed, mismatch, not_json, outsider]
    assert [r.status_code for r in answers] == [201, 201, 422, 415, 403]
    assert outsider.json()["reason"] == "district"
    for response in answers:
        assert_documented(response)


def test_reactions_answer_as_documented(client_for):
    comment = CommentFactory()
    reader = client_for(CitizenFactory())
    url = f"/api/v1/comments/{comment.pk}"

    answers = [
        reader.post(f"{url}/like/"),
        reader.post(f"{url}/like/"),
        reader.delete(f"{url}/like/"),
        reader.post(f"{url}/report/", {"reason": "spam"}, format="json"),
        reader.post(f"{url}/report/", {"reason": "boring"}, format="json"),
        reader.delete(f"{url}/"),
        client_for(comment.author).delete(f"{url}/"),
    ]

    assert [r.status_code for r in answers] == [201, 409, 204, 201, 400, 403, 204]
    assert answers[3].json() == {"comment": comment.pk, "reason": "spam"}
    for response in answers:
        assert_documented(response)
