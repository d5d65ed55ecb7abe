"""`manage.py clean_media`: images stored before uploads were cleaned lose their metadata and
their names, get renditions, and the old files (with their GPS positions) are deleted."""

import io
import re

import pytest
from django.core.management import call_command

from proposals.models import ProposalImage
from tests.factories import PollFactory
from tests.media import assert_no_metadata, gps_jpeg, has_gps
from tests.proposals.factories import ProposalFactory
from voting.models import PollImage

pytestmark = pytest.mark.django_db


def test_old_images_are_cleaned_once_and_their_originals_deleted(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    old = tmp_path / "proposals/2025/01/kim-home.jpg"
    old.parent.mkdir(parents=True)
    old.write_bytes(gps_jpeg())
    # Rows as they were: the file's name as uploaded, no size (update(): no cleaning on save).
    image = ProposalImage.objects.create(proposal=ProposalFactory(), image="x.jpg", alt="사진")
    ProposalImage.objects.filter(pk=image.pk).update(
        image="proposals/2025/01/kim-home.jpg", image_width=None, image_height=None
    )
    missing = PollImage.objects.create(poll=PollFactory(), image="x.jpg", alt="없는 파일")
    PollImage.objects.filter(pk=missing.pk).update(image="polls/2025/01/gone.jpg")

    out, err = io.StringIO(), io.StringIO()
    call_command("clean_media", stdout=out, stderr=err)

    image.refresh_from_db()
    assert re.fullmatch(r"proposals/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", image.image.name)
    assert (image.image_width, image.image_height) == (1000, 2000)
    data = (tmp_path / image.image.name).read_bytes()
    assert not has_gps(data)
    assert_no_metadata(data)
    assert not old.exists()  # the GPS-bearing original is gone
    stem = image.image.name.removesuffix(".jpg")
    assert (tmp_path / f"{stem}.w480.webp").exists() and (tmp_path / f"{stem}.w960.webp").exists()
    assert "proposals.ProposalImage.image: 1 cleaned, 0 failed" in out.getvalue()
    assert "voting.PollImage.image: 0 cleaned, 1 failed" in out.getvalue()
    assert f"voting.PollImage {missing.pk}: FileNotFoundError" in err.getvalue()

    again = io.StringIO()
    call_command("clean_media", stdout=again, stderr=io.StringIO())
    assert "proposals.ProposalImage.image: 0 cleaned" in again.getvalue()
