"""``Idempotency-Key`` on adding a proposal's image (multipart): the file's content is part of
the request's fingerprint, so a retry replays and another file with the same key is refused."""

import uuid
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from proposals.models import ProposalImage
from tests.concurrency import run_at_once
from tests.conftest import make_session_token
from tests.proposals.factories import ProposalFactory, png_bytes


@pytest.fixture(autouse=True)
def _media_and_no_throttle(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PROPOSAL_THROTTLE = "1000/min,10000/day"


def upload(token: str, proposal_id: int, key: str, size: tuple[int, int] = (4, 4)):
    api = APIClient()
    api.credentials(HTTP_X_SESSION_TOKEN=token)
    file = SimpleUploadedFile("photo.png", png_bytes(size), "image/png")
    return api.post(
        f"/api/v1/proposals/{proposal_id}/images/",
        {"image": file, "alt": "현장 사진"},
        format="multipart",
        headers={"Idempotency-Key": key},
    )


@pytest.mark.django_db
def test_a_retried_upload_adds_one_image_and_another_file_is_refused():
    proposal = ProposalFactory()
    token, key = make_session_token(proposal.author), str(uuid.uuid4())

    first = upload(token, proposal.pk, key)
    retry = upload(token, proposal.pk, key)
    other = upload(token, proposal.pk, key, size=(8, 8))

    assert first.status_code == retry.status_code == 201, first.json()
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert ProposalImage.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_identical_uploads_at_once_add_one_image():
    proposal = ProposalFactory()
    token, key = make_session_token(proposal.author), str(uuid.uuid4())

    responses = run_at_once([lambda: upload(token, proposal.pk, key)] * 4)

    assert Counter(r.status_code for r in responses) == {201: 4}
    assert sum("Idempotent-Replayed" in r for r in responses) == 3
    assert ProposalImage.objects.count() == 1
