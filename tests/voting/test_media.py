"""Officials' images through the real admin form, as citizens' phones then get them (no metadata,
random names, renditions with sizes), and outcome attachments: private until citizens may see
the results, then only through signed links that expire."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from tests.media import assert_no_metadata, gps_jpeg, has_gps
from tests.voting.test_admin import ADD_URL, inline, login, new_poll_data
from voting import casting, services
from voting.models import Outcome, Poll

pytestmark = pytest.mark.django_db

RANDOM_NAME = r"[0-9a-f]{32}"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "public"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def _relative(url: str) -> str:
    return url.removeprefix("http://testserver/media/")


def test_an_officials_photo_is_stored_and_served_without_metadata_or_its_name(settings, client_for):
    photo = SimpleUploadedFile("kim-home-gps.jpg", gps_jpeg(), content_type="image/jpeg")
    option_photo = SimpleUploadedFile("kim-option.jpg", gps_jpeg(), content_type="image/jpeg")
    data = new_poll_data(
        **inline(
            "images",
            [
                {
                    "image": photo,
                    "caption": "지도",
                    "alt": "대여소",
                    "is_cover": "on",
                    "position": "0",
                }
            ],
        )
    )
    data["options-0-image"] = option_photo
    data["options-0-image_alt"] = "찬성 그림"

    response = login(OfficialFactory(role="official")).post(ADD_URL + "add/", data)
    assert response.status_code == 302

    poll = Poll.objects.get()
    stored = poll.images.get()
    assert re.fullmatch(rf"polls/\d{{4}}/\d{{2}}/{RANDOM_NAME}\.jpg", stored.image.name)
    on_disk = (settings.MEDIA_ROOT / stored.image.name).read_bytes()
    assert_no_metadata(on_disk)
    assert not has_gps(on_disk)
    assert (stored.image_width, stored.image_height) == (1000, 2000)  # upright

    services.publish_poll(poll=poll, by=None)
    response = client_for(CitizenFactory(district_id=SAJIK)).get(f"/api/v1/polls/{poll.pk}/")
    assert response.status_code == 200
    assert b"kim-" not in response.content  # no original name anywhere

    image = response.json()["images"][0]
    assert (image["caption"], image["alt"], image["width"], image["height"]) == (
        "지도",
        "대여소",
        1000,
        2000,
    )
    assert image["url"] == f"http://testserver/media/{stored.image.name}"
    assert [(r["width"], r["height"]) for r in image["renditions"]] == [(480, 960), (960, 1920)]
    for rendition in image["renditions"]:
        assert re.fullmatch(
            rf"http://testserver/media/polls/.+/{RANDOM_NAME}\.w\d+\.webp", rendition["url"]
        )
        data = (settings.MEDIA_ROOT / _relative(rendition["url"])).read_bytes()
        assert_no_metadata(data)
        with Image.open(io.BytesIO(data)) as small:
            assert small.size == (rendition["width"], rendition["height"])

    option = next(o for o in response.json()["options"] if o["image"])
    assert option["image"]["alt"] == "찬성 그림"
    assert (option["image"]["width"], option["image"]["height"]) == (1000, 2000)
    assert len(option["image"]["renditions"]) == 2
    assert_no_metadata((settings.MEDIA_ROOT / _relative(option["image"]["url"])).read_bytes())

    listed = client_for(CitizenFactory(district_id=SAJIK)).get("/api/v1/polls/?status=upcoming")
    cover = next(p for p in listed.json()["results"] if p["id"] == poll.pk)["cover_image"]
    assert cover["renditions"] == image["renditions"]


# --- Outcome attachments ------------------------------------------------------------------------


@pytest.fixture
def closed_poll():
    poll = PollFactory(results_visibility=Poll.ResultsVisibility.OFFICIALS)
    voter = CitizenFactory(district_id=SAJIK)
    casting.cast_ballot(poll=poll, voter=voter, option_ids=[poll.options.first().pk])
    services.close_poll(poll=poll, by=None)
    return poll


@pytest.fixture
def official():
    return OfficialFactory(is_superuser=True)


def _attach(official, poll) -> Outcome:
    response = login(official).post(
        "/admin/voting/outcome/add/",
        {
            "poll": poll.pk,
            "summary": "예산 편성",
            "link": "",
            "decided_on": "2026-12-01",
            "attachment": SimpleUploadedFile(
                "결정문-초안.pdf", b"%PDF-1.4 secret", "application/pdf"
            ),
        },
    )
    assert response.status_code == 302
    return Outcome.objects.get(poll=poll)


def test_an_attachment_is_stored_private_and_citizens_get_it_only_once_results_are_public(
    settings, closed_poll, official, client_for
):
    outcome = _attach(official, closed_poll)
    name = outcome.attachment.name
    assert (settings.PRIVATE_MEDIA_ROOT / name).read_bytes() == b"%PDF-1.4 secret"
    assert not (settings.MEDIA_ROOT / name).exists()  # nothing under the public root
    assert Client().get(f"/media/{name}").status_code == 404

    citizen = client_for(CitizenFactory(district_id=SAJIK))
    card = citizen.get(f"/api/v1/polls/{closed_poll.pk}/").json()["outcome"]
    link = f"http://testserver/api/v1/polls/{closed_poll.pk}/outcome/attachment/"
    assert card["attachment"] == link

    refused = citizen.get(link)
    assert refused.status_code == 403
    assert refused.json()["code"] == "attachment_not_public"
    assert Client().get(link).status_code in (401, 403)  # and nobody anonymous

    # The city's official sees it before publication (in the admin too: a signed link).
    seen = client_for(official).get(link)
    assert seen.status_code == 302
    assert seen["Cache-Control"] == "private, no-store"
    assert re.fullmatch(r"/media-private/[^/]+", seen["Location"])
    assert (
        "/media-private/"
        in login(official).get(f"/admin/voting/outcome/{outcome.pk}/change/").content.decode()
    )

    services.publish_results(poll=closed_poll, by=None)
    allowed = citizen.get(link)
    assert allowed.status_code == 302
    served = Client().get(allowed["Location"])
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == b"%PDF-1.4 secret"
    assert served["Content-Disposition"].startswith("attachment;")
    assert served["Cache-Control"] == "private, no-store"


def test_an_unsigned_tampered_or_expired_private_link_is_refused(
    settings, closed_poll, official, client_for, clock
):
    outcome = _attach(official, closed_poll)
    services.publish_results(poll=closed_poll, by=None)
    signed = client_for(official).get(f"/api/v1/polls/{closed_poll.pk}/outcome/attachment/")[
        "Location"
    ]
    anyone = Client()
    assert anyone.get(signed).status_code == 200

    # Unsigned: the file's name where a token should be; tampered: one character changed.
    unsigned = anyone.get(f"/media-private/{outcome.attachment.name.replace('/', '%2F')}")
    assert unsigned.status_code in (403, 404)
    token = signed.removeprefix("/media-private/")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused = anyone.get(f"/media-private/{tampered}")
    assert (refused.status_code, refused.json()["code"]) == (403, "link_invalid")

    clock.advance(settings.PRIVATE_MEDIA_URL_SECONDS - 5)
    assert anyone.get(signed).status_code == 200
    clock.advance(10)
    expired = anyone.get(signed)
    assert (expired.status_code, expired.json()["code"]) == (403, "link_expired")


def test_a_duplicated_poll_shares_its_options_clean_images_and_renditions():
    poll = PollFactory()
    option = poll.options.first()
    option.image = SimpleUploadedFile("kim.jpg", gps_jpeg(), content_type="image/jpeg")
    option.save()
    assert re.fullmatch(rf"options/\d{{4}}/\d{{2}}/{RANDOM_NAME}\.jpg", option.image.name)

    copy = services.duplicate_poll(poll=poll, by=None)

    copied = copy.options.get(label=option.label)
    assert copied.image.name == option.image.name
    assert (copied.image_width, copied.image_height) == (1000, 2000)
