"""Citizens' photos on proposals: the GPS position and camera of the phone that took them, and
the file's name, never reach storage or other citizens."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from proposals.models import ProposalImage
from tests.factories import CitizenFactory
from tests.media import assert_no_metadata, gps_jpeg, has_gps
from tests.proposals.factories import ProposalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_citizens_photo_loses_its_gps_and_name_and_gets_renditions(settings, client_for):
    proposal = ProposalFactory()
    photo = SimpleUploadedFile("010-1234-5678_home.jpg", gps_jpeg(), content_type="image/jpeg")

    response = client_for(proposal.author).post(
        f"/api/v1/proposals/{proposal.pk}/images/",
        {"image": photo, "alt": "집 앞 횡단보도"},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert b"010-1234-5678" not in response.content and b"home" not in response.content
    stored = ProposalImage.objects.get()
    assert re.fullmatch(r"proposals/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", stored.image.name)
    assert body["url"] == f"http://testserver/media/{stored.image.name}"
    assert (body["width"], body["height"]) == (1000, 2000)
    data = (settings.MEDIA_ROOT / stored.image.name).read_bytes()
    assert not has_gps(data)
    assert_no_metadata(data)
    assert [(r["width"], r["height"]) for r in body["renditions"]] == [(480, 960), (960, 1920)]
    for rendition in body["renditions"]:
        path = settings.MEDIA_ROOT / rendition["url"].removeprefix("http://testserver/media/")
        with Image.open(io.BytesIO(path.read_bytes())) as small:
            assert small.size == (rendition["width"], rendition["height"])

    # Another citizen reading the proposal sees the same clean image.
    other = client_for(CitizenFactory()).get(f"/api/v1/proposals/{proposal.pk}/")
    assert other.json()["images"][0] == {
        "id": stored.pk,
        "alt": "집 앞 횡단보도",
        **{k: body[k] for k in ("url", "width", "height", "renditions")},
    }
    assert b"010-1234-5678" not in other.content


def test_a_small_photo_has_no_renditions_and_is_never_upscaled(client_for):
    proposal = ProposalFactory()
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 120, 10)).save(out, "PNG")
    response = client_for(proposal.author).post(
        f"/api/v1/proposals/{proposal.pk}/images/",
        {"image": SimpleUploadedFile("small.png", out.getvalue(), "image/png"), "alt": "작은 사진"},
        format="multipart",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["width"], body["height"], body["renditions"]) == (320, 240, [])
    assert body["url"].endswith(".png")
