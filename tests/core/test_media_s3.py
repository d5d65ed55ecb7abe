"""Media on an S3-compatible server, configured as an operator would (MEDIA_STORAGE=s3 and the
AWS_* variables, read by config/settings.py). The server is moto's, in server mode on
127.0.0.1: django-storages and boto3 speak real HTTP to it, and the test reads what they wrote
over HTTP as a phone would, without credentials.

The buckets are set up as docker-compose.yml's `minio-buckets` does: objects of the public one
readable by anyone (a GetObject-only bucket policy), the private one not at all. moto does not
check a presigned URL's signature or expiry, nor refuse anonymous listing (S3 and MinIO do):
what is checked here is that the link is presigned, for PRIVATE_MEDIA_URL_SECONDS, and that the
object cannot be read without one. Expiry is checked on the filesystem's signed links
(tests/voting/test_media.py).
"""

import io
import json
import runpy
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer
from PIL import Image

from proposals.models import ProposalImage
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from tests.media import assert_no_metadata, gps_jpeg, has_gps
from tests.proposals.factories import ProposalFactory
from voting import casting, services
from voting.models import Outcome, Poll

pytestmark = pytest.mark.django_db

PUBLIC, PRIVATE = "mvoting-media", "mvoting-private"
KEYS = {"AWS_ACCESS_KEY_ID": "test-access", "AWS_SECRET_ACCESS_KEY": "test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=PUBLIC)
    client.create_bucket(Bucket=PRIVATE)
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{PUBLIC}/*"],
            }
        ],
    }
    client.put_bucket_policy(Bucket=PUBLIC, Policy=json.dumps(public_read))
    yield endpoint, client
    server.stop()


@pytest.fixture
def s3(s3_endpoint, settings, monkeypatch):
    """STORAGES as config/settings.py builds it from the operator's environment."""
    endpoint, client = s3_endpoint
    for name, value in {
        **KEYS,
        "MEDIA_STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_STORAGE_BUCKET_NAME": PUBLIC,
        "AWS_PRIVATE_BUCKET_NAME": PRIVATE,
    }.items():
        monkeypatch.setenv(name, value)
    built = runpy.run_path(str(Path(django_settings.BASE_DIR) / "config" / "settings.py"))
    settings.STORAGES = built["STORAGES"]
    return endpoint, client


def fetch(url: str) -> tuple[int, bytes]:
    """A GET with no credentials, as a phone makes it."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the test's server)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def keys(client, bucket: str) -> set[str]:
    return {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_a_citizens_photo_goes_to_the_public_bucket_clean_with_its_renditions(s3, client_for):
    endpoint, client = s3
    proposal = ProposalFactory()
    photo = SimpleUploadedFile("kim-home.jpg", gps_jpeg(), content_type="image/jpeg")

    response = client_for(proposal.author).post(
        f"/api/v1/proposals/{proposal.pk}/images/",
        {"image": photo, "alt": "현장"},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    stored = ProposalImage.objects.get().image.name
    rendition_keys = {stored.replace(".jpg", f".w{w}.webp") for w in (480, 960)}
    assert {stored, *rendition_keys} <= keys(client, PUBLIC)
    assert not keys(client, PRIVATE)
    assert body["url"] == f"{endpoint}/{PUBLIC}/{stored}"
    assert "kim-home" not in json.dumps(body)

    status, data = fetch(body["url"])
    assert status == 200
    assert not has_gps(data)
    assert_no_metadata(data)
    head = client.head_object(Bucket=PUBLIC, Key=stored)
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    for rendition in body["renditions"]:
        status, data = fetch(rendition["url"])
        assert status == 200
        with Image.open(io.BytesIO(data)) as small:
            assert (small.format, small.size) == ("WEBP", (rendition["width"], rendition["height"]))


def test_an_attachment_goes_to_the_private_bucket_and_out_only_by_presigned_link(s3, client_for):
    from tests.voting.test_admin import login

    endpoint, client = s3
    poll = PollFactory(results_visibility=Poll.ResultsVisibility.OFFICIALS)
    casting.cast_ballot(
        poll=poll, voter=CitizenFactory(district_id=SAJIK), option_ids=[poll.options.first().pk]
    )
    services.close_poll(poll=poll, by=None)
    official = OfficialFactory(is_superuser=True)
    added = login(official).post(
        "/admin/voting/outcome/add/",
        {
            "poll": poll.pk,
            "summary": "예산 편성",
            "link": "",
            "decided_on": "2026-12-01",
            "attachment": SimpleUploadedFile("draft.pdf", b"%PDF-1.4 draft", "application/pdf"),
        },
    )
    assert added.status_code == 302
    name = Outcome.objects.get().attachment.name
    assert name in keys(client, PRIVATE)
    assert name not in keys(client, PUBLIC)
    assert fetch(f"{endpoint}/{PRIVATE}/{name}")[0] == 403  # unsigned: refused by the server

    link = f"/api/v1/polls/{poll.pk}/outcome/attachment/"
    citizen = client_for(CitizenFactory(district_id=SAJIK))
    assert citizen.get(link).status_code == 403  # results (and documents) not published yet

    services.publish_results(poll=poll, by=None)
    redirect = citizen.get(link)
    assert redirect.status_code == 302
    signed = urllib.parse.urlsplit(redirect["Location"])
    query = urllib.parse.parse_qs(signed.query)
    assert f"{signed.scheme}://{signed.netloc}{signed.path}" == f"{endpoint}/{PRIVATE}/{name}"
    assert query["X-Amz-Expires"] == [str(django_settings.PRIVATE_MEDIA_URL_SECONDS)]
    assert "X-Amz-Signature" in query
    assert fetch(redirect["Location"]) == (200, b"%PDF-1.4 draft")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE is 'ftp'; use filesystem or s3"),
        (
            {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "media"},
            "MEDIA_STORAGE is s3, so AWS_PRIVATE_BUCKET_NAME must be set",
        ),
    ],
)
def test_a_wrong_media_configuration_stops_the_server_with_one_line(
    monkeypatch, environment, message
):
    for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_PRIVATE_BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(Path(django_settings.BASE_DIR) / "config" / "settings.py"))
    assert str(stopped.value) == f"configuration error: {message}"
