"""``Idempotency-Key`` on every creating POST but the ballot (core/idempotency.py): a retry
replays the first answer and creates nothing, another body is refused, keys are per citizen."""

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.models import IdempotentAnswer
from discussion.models import Comment
from notifications.models import Device
from proposals.models import Proposal, Support
from tests.concurrency import run_at_once
from tests.conftest import make_session_token
from tests.discussion.factories import CommentFactory
from tests.district_codes import JONGNO, SAJIK
from tests.factories import CitizenFactory, PollFactory
from tests.proposals.factories import ProposalFactory
from voting import idempotency as ballot_idempotency


@pytest.fixture(autouse=True)
def _no_throttles(settings):
    # Retries are what these tests send; the per-citizen write limits are tested elsewhere.
    settings.COMMENT_THROTTLE = "1000/min,10000/day"
    settings.PROPOSAL_THROTTLE = "1000/min,10000/day"


@dataclass
class Case:
    """One creating POST: where, two different bodies for it, a citizen who may send it."""

    url: str
    body: dict | None
    other_url: str  # with other_body: another request, to reuse the key with
    other_body: dict | None
    citizen: Callable[[], object]
    created: Callable[[], int]  # how many of what it creates exist


def comment_case() -> Case:
    poll = PollFactory(districts=[JONGNO])
    url = f"/api/v1/polls/{poll.pk}/comments/"
    return Case(
        url=url,
        body={"body": "버스 노선이 늘면 좋겠습니다."},
        other_url=url,
        other_body={"body": "다른 의견입니다."},
        citizen=lambda: CitizenFactory(district_id=SAJIK),
        created=Comment.objects.count,
    )


def reply_case() -> Case:
    parent = CommentFactory()
    url = f"/api/v1/polls/{parent.poll_id}/comments/"
    return Case(
        url=url,
        body={"body": "동의합니다.", "parent": parent.pk},
        other_url=url,
        other_body={"body": "동의합니다."},  # the same text, but top-level: another request
        citizen=CitizenFactory,
        created=Comment.objects.filter(parent=parent).count,
    )


def proposal_comment_case() -> Case:
    proposal = ProposalFactory()
    url = f"/api/v1/proposals/{proposal.pk}/comments/"
    return Case(
        url=url,
        body={"body": "좋은 제안입니다."},
        other_url=url,
        other_body={"body": "좋은 제안입니다!"},
        citizen=CitizenFactory,
        created=Comment.objects.count,
    )


def proposal_case() -> Case:
    body = {
        "title": "지하철 심야 연장 운행",
        "description": "금요일과 토요일 지하철을 새벽 2시까지 운행할까요?",
        "options": ["찬성", "반대"],
        "duration_days": 14,
    }
    return Case(
        url="/api/v1/proposals/",
        body=body,
        other_url="/api/v1/proposals/",
        other_body={**body, "duration_days": 7},
        citizen=CitizenFactory,
        created=Proposal.objects.count,
    )


def support_case() -> Case:
    first, second = ProposalFactory(), ProposalFactory()
    return Case(
        url=f"/api/v1/proposals/{first.pk}/support/",
        body=None,
        other_url=f"/api/v1/proposals/{second.pk}/support/",  # no body: the path differs
        other_body=None,
        citizen=CitizenFactory,
        created=Support.objects.count,
    )


def device_case() -> Case:
    return Case(
        url="/api/v1/me/devices/",
        body={"token": f"fcm:{uuid.uuid4().hex}", "platform": "android"},
        other_url="/api/v1/me/devices/",
        other_body={"token": f"fcm:{uuid.uuid4().hex}", "platform": "android"},
        citizen=CitizenFactory,
        created=Device.objects.count,
    )


CASES = {
    "comment": comment_case,
    "reply": reply_case,
    "proposal_comment": proposal_comment_case,
    "proposal": proposal_case,
    "support": support_case,
    "device": device_case,
}


def client(citizen) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_X_SESSION_TOKEN=make_session_token(citizen))
    return api


def send(api: APIClient, url: str, body: dict | None, key: str | None):
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post(url, body, format="json", headers=headers)


@pytest.fixture(params=sorted(CASES))
def case(request) -> Case:
    return CASES[request.param]()


@pytest.mark.django_db
def test_a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing(case):
    api, key = client(case.citizen()), str(uuid.uuid4())

    first = send(api, case.url, case.body, key)
    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first
    created = case.created()
    retry = send(api, case.url, case.body, key)

    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert case.created() == created == 1
    # Without a key the endpoint behaves as it always did: no record is written.
    assert IdempotentAnswer.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_request_is_refused(case):
    api, key = client(case.citizen()), str(uuid.uuid4())
    assert send(api, case.url, case.body, key).status_code == 201

    response = send(api, case.other_url, case.other_body, key)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_mismatch"
    assert set(response.json()) >= {"code", "detail"}
    assert case.created() == 1


@pytest.mark.django_db
def test_keys_are_per_citizen(case):
    key = "the-same-key-string-0001"
    first = send(client(case.citizen()), case.url, case.body, key)
    body = case.body
    if case.url.endswith("/devices/"):
        body = case.other_body  # a device token is one phone's: the other citizen has another
    second = send(client(case.citizen()), case.url, body, key)

    assert first.status_code == second.status_code == 201, second.json()
    assert "Idempotent-Replayed" not in second
    assert case.created() == 2


@pytest.mark.parametrize(
    "key", ["short-key-14ch", "x" * 256, "sixteen-chars-ok\t", "sixteen-chars-ok\x7f"]
)
@pytest.mark.django_db
def test_a_malformed_key_is_a_400_and_creates_nothing(case, key):
    response = send(client(case.citizen()), case.url, case.body, key)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert case.created() == 0


@pytest.mark.django_db
def test_the_shortest_and_longest_keys_are_accepted(case):
    api = client(case.citizen())
    assert send(api, case.url, case.body, "k" * 16).status_code == 201
    assert send(api, case.other_url, case.other_body, "k" * 255).status_code == 201


@pytest.mark.django_db
def test_a_refusal_is_not_stored_and_a_retry_is_judged_afresh(settings):
    poll = PollFactory(districts=[JONGNO])
    citizen = CitizenFactory(district_id=SAJIK)
    api, key, url = client(citizen), str(uuid.uuid4()), f"/api/v1/polls/{poll.pk}/comments/"

    refused = send(api, url, {"body": ""}, key)
    assert refused.status_code == 400
    assert not IdempotentAnswer.objects.exists()
    assert send(api, url, {"body": "이번에는 내용이 있습니다."}, key).status_code == 201


@pytest.mark.django_db
def test_expired_answers_are_neither_replayed_nor_kept(settings, capsys):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    case = comment_case()
    api = client(case.citizen())
    assert send(api, case.url, case.body, "fresh-key-0000001").status_code == 201
    assert send(api, case.url, case.body, "stale-key-0000001").status_code == 201

    def age_the_last() -> None:
        last = IdempotentAnswer.objects.order_by("pk").last()
        IdempotentAnswer.objects.filter(pk=last.pk).update(
            created_at=timezone.now() - timedelta(hours=30)
        )

    age_the_last()
    # Past the TTL a key is new again, purged or not: the comment is written again.
    again = send(api, case.url, case.body, "stale-key-0000001")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert case.created() == 3
    age_the_last()

    call_command("purge_idempotency_keys")  # the one housekeeping job: ballots' and these

    assert "purged 1" in capsys.readouterr().out
    assert IdempotentAnswer.objects.count() == 1
    assert send(api, case.url, case.body, "fresh-key-0000001")["Idempotent-Replayed"] == "true"
    assert ballot_idempotency.purge_expired() == 0


@pytest.mark.django_db
def test_an_account_deleted_takes_its_answers_with_it():
    case = comment_case()
    citizen = case.citizen()
    assert send(client(citizen), case.url, case.body, str(uuid.uuid4())).status_code == 201
    citizen.delete()
    assert not IdempotentAnswer.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_identical_requests_at_once_create_one(case):
    api_token = make_session_token(case.citizen())
    key = str(uuid.uuid4())

    def post() -> tuple[int, object, bool]:
        api = APIClient()
        api.credentials(HTTP_X_SESSION_TOKEN=api_token)
        response = send(api, case.url, case.body, key)
        return response.status_code, response.json(), "Idempotent-Replayed" in response

    results = run_at_once([post] * 6)

    assert Counter(status for status, _, _ in results) == {201: 6}
    assert Counter(replayed for _, _, replayed in results) == {False: 1, True: 5}
    assert all(body == results[0][1] for _, body, _ in results)
    assert case.created() == 1


CREATING_POSTS = [
    "/api/v1/polls/{poll_id}/ballots/",
    "/api/v1/polls/{poll_id}/comments/",
    "/api/v1/proposals/",
    "/api/v1/proposals/{proposal_id}/comments/",
    "/api/v1/proposals/{proposal_id}/images/",
    "/api/v1/proposals/{proposal_id}/support/",
    "/api/v1/me/devices/",
]


@pytest.mark.parametrize("path", CREATING_POSTS)
def test_the_schema_documents_the_key_its_length_and_the_replay_header(path):
    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"][path]["post"]

    (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header" and not header.get("required", False)
    assert header["schema"] == {"type": "string", "minLength": 16, "maxLength": 255}
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert "422" in operation["responses"]


@pytest.mark.django_db
def test_an_absent_parent_and_a_null_one_are_the_same_request():
    case = comment_case()
    api, key = client(case.citizen()), str(uuid.uuid4())
    first = send(api, case.url, {"body": "같은 의견"}, key)
    retry = send(api, case.url, {"body": "같은 의견", "parent": None}, key)
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json() and case.created() == 1
