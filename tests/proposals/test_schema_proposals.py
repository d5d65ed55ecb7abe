"""The proposals API as the OpenAPI schema describes it to app developers: every key of an
answer required, the errors each operation can give (415 on the upload, 422 where an
Idempotency-Key is taken), and every real answer matching its schema with no undocumented key."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from proposals import decisions
from proposals.models import Proposal
from tests.district_codes import JONGNO, SAJIK
from tests.factories import CitizenFactory, OfficialFactory
from tests.proposals.factories import ProposalFactory, png_bytes
from tests.schema_answers import assert_documented, component, documented_statuses, ref_of

pytestmark = pytest.mark.django_db

LIST = "/api/v1/proposals/"
KEY = "7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_every_key_of_a_proposal_answer_is_required():
    for name in ("ProposalListItem", "ProposalDetail", "ProposalImage", "SupportResponse"):
        schema = component(name)
        assert set(schema["required"]) == set(schema["properties"]), name
    detail = component("ProposalDetail")["properties"]
    assert ref_of(detail["status"]) == "ProposalStatusEnum"
    assert component("ProposalStatusEnum")["enum"] == list(Proposal.Status.values)
    assert ref_of(detail["district"]) == "DistrictRef"


def test_each_operation_documents_the_errors_it_can_give():
    # Reading is public and never throttled.
    assert documented_statuses("GET", LIST) == {200, 400, 401, 404, 503}
    assert documented_statuses("GET", "/api/v1/proposals/{proposal_id}/") == {200, 401, 404, 503}
    # Creating POSTs take an Idempotency-Key (422 on reuse with another body).
    assert documented_statuses("POST", LIST) == {
        201,
        400,
        401,
        403,
        409,
        413,
        415,
        422,
        429,
        503,
    }
    assert documented_statuses("POST", "/api/v1/proposals/{proposal_id}/images/") == {
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
    # Supporting sends no body: no 413 or 415; 400 is a malformed Idempotency-Key.
    assert documented_statuses("POST", "/api/v1/proposals/{proposal_id}/support/") == {
        201,
        400,
        401,
        403,
        404,
        409,
        422,
        429,
        503,
    }
    assert documented_statuses("DELETE", "/api/v1/proposals/{proposal_id}/support/") == {
        200,
        401,
        403,
        404,
        409,
        429,
        503,
    }


def test_reading_answers_as_documented(api, client_for):
    mine = CitizenFactory(district_id=SAJIK)
    ProposalFactory(district_id=JONGNO, support_count=3)
    hidden = ProposalFactory(author=mine, hidden_at=timezone.now(), hidden_reason="중복")
    expired = ProposalFactory(support_deadline=timezone.now() - timedelta(minutes=1))
    rejected = ProposalFactory(under_review=True)
    decisions.reject_proposal(
        proposal=rejected, by=OfficialFactory(role="official"), reason="이미 시행 중"
    )
    client = client_for(mine)

    answers = [
        api.get(LIST),
        client.get(LIST, {"district": JONGNO, "order": "support"}),
        client.get(LIST, {"status": "expired"}),
        client.get(f"{LIST}{hidden.pk}/"),
        api.get(f"{LIST}{expired.pk}/"),
        api.get(f"{LIST}{rejected.pk}/"),
        api.get(LIST, {"status": "secret"}),
        api.get(f"{LIST}{hidden.pk}/"),
    ]

    assert [r.status_code for r in answers] == [200, 200, 200, 200, 200, 200, 400, 404]
    assert answers[3].json()["hidden_reason"] == "중복"
    for response in answers:
        assert_documented(response)


def test_writing_answers_as_documented(client_for):
    author = CitizenFactory(district_id=SAJIK)
    client = client_for(author)
    proposal = {
        "title": "심야 버스",
        "description": "심야 버스를 늘려 주세요.",
        "options": ["찬성", "반대"],
        "duration_days": 7,
    }

    created = client.post(LIST, proposal, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    replayed = client.post(LIST, proposal, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    mismatch = client.post(
        LIST, {**proposal, "duration_days": 8}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )
    pk = created.json()["id"]
    image = SimpleUploadedFile("photo.png", png_bytes(), "image/png")
    uploaded = client.post(
        f"{LIST}{pk}/images/", {"image": image, "alt": "현장 사진"}, format="multipart"
    )
    as_json = client.post(f"{LIST}{pk}/images/", {"alt": "현장 사진"}, format="json")
    detail = client.get(f"{LIST}{pk}/")
    supporter = client_for(CitizenFactory(district_id=SAJIK))
    supported = supporter.post(f"{LIST}{pk}/support/")
    again = supporter.post(f"{LIST}{pk}/support/")
    withdrawn = supporter.delete(f"{LIST}{pk}/support/")

    answers = [created, replayed, mismatch, uploaded, as_json, detail, supported, again, withdrawn]
    assert [r.status_code for r in answers] == [201, 201, 422, 201, 415, 200, 201, 409, 200]
    assert replayed["Idempotent-Replayed"] == "true"
    assert detail.json()["images"][0]["renditions"] is not None
    for response in answers:
        assert_documented(response)
