"""The proposals API as the app uses it: JSON in, JSON out, errors as {"code", "detail"}."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from proposals import decisions, services
from proposals.models import Proposal, ProposalImage, Support
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import CitizenFactory, OfficialFactory
from tests.proposals.factories import ProposalFactory, png_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/proposals/"


def detail_url(proposal_id: int) -> str:
    return f"{URL}{proposal_id}/"


def support_url(proposal_id: int) -> str:
    return f"{URL}{proposal_id}/support/"


def images_url(proposal_id: int) -> str:
    return f"{URL}{proposal_id}/images/"


def payload(**overrides) -> dict:
    body = {
        "title": "지하철 심야 연장 운행",
        "description": "금요일과 토요일 지하철을 새벽 2시까지 운행할까요?",
        "options": ["찬성", "반대"],
        "duration_days": 14,
    }
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# --- Creating ----------------------------------------------------------------------------------


def test_create_answers_the_new_proposal(citizen_api, citizen):
    response = citizen_api.post(URL, payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    proposal = Proposal.objects.get()
    assert proposal.author == citizen
    assert body["id"] == proposal.pk
    assert body["status"] == "open"
    assert body["is_mine"] is True
    assert body["supported"] is False
    assert body["support_count"] == 0
    assert body["district"] is None
    assert body["poll"] is None
    assert [o["label"] for o in body["options"]] == ["찬성", "반대"]
    # No author identity at all.
    assert "author" not in body
    assert citizen.phone not in response.content.decode()


def test_create_for_my_gu(client_for):
    author = CitizenFactory(district_id=SAJIK)
    response = client_for(author).post(URL, payload(district=JONGNO), format="json")
    assert response.status_code == 201
    assert response.json()["district"]["code"] == JONGNO


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payload(title=""), "title"),
        (payload(title="가" * 201), "title"),
        (payload(title=123), "title"),
        (payload(description="설명" * 2501), "description"),
        (payload(options=["하나"]), "options"),
        (payload(options=[str(i) for i in range(11)]), "options"),
        (payload(options=["찬성", 1]), "options"),
        (payload(options="찬성"), "options"),
        (payload(duration_days=0), "duration_days"),
        (payload(duration_days=31), "duration_days"),
        (payload(duration_days="7"), "duration_days"),
        (payload(duration_days=7.5), "duration_days"),
        (payload(district="종로구"), "district"),
        (payload(district=1111000000), "district"),
        ({"title": "제목만"}, "options"),
    ],
)
def test_create_refuses_invalid_input(citizen_api, body, field):
    response = citizen_api.post(URL, body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid_input"
    assert field in error["fields"]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payload(title="   "), "title"),
        (payload(title="제목\u0007"), "title"),
        (payload(options=["찬성", "  찬성"]), "options"),
        (payload(description="\x00"), "description"),
    ],
)
def test_create_refuses_what_only_the_service_can_judge(citizen_api, body, field):
    response = citizen_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_create_refuses_another_gu(client_for):
    author = CitizenFactory(district_id=SAJIK)
    response = client_for(author).post(URL, payload(district=GANGNAM), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_district"


def test_create_needs_a_verified_phone(client_for):
    response = client_for(CitizenFactory(phone_verified=False, verification=0)).post(
        URL, payload(), format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "verification_required"


def test_create_is_limited_to_n_open_proposals(citizen_api, settings):
    settings.PROPOSAL_MAX_OPEN_PER_CITIZEN = 1
    assert citizen_api.post(URL, payload(), format="json").status_code == 201
    response = citizen_api.post(URL, payload(title="두 번째"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_open_proposals"
    assert Proposal.objects.count() == 1


def test_anonymous_readers_see_the_public_proposals_but_cannot_write(api):
    shown = ProposalFactory()
    orphan_hidden = ProposalFactory(hidden_at=timezone.now(), hidden_reason="욕설", author=None)

    listed = api.get(URL)
    assert listed.status_code == 200
    assert ids(listed) == [shown.pk]  # a hidden one is nobody's to see, even with no author
    item = listed.json()["results"][0]
    assert (item["supported"], item["is_mine"]) == (False, False)
    assert api.get(detail_url(shown.pk)).status_code == 200
    assert api.get(detail_url(orphan_hidden.pk)).status_code == 404

    for response in (
        api.post(URL, payload(), format="json"),
        api.post(support_url(shown.pk)),
        api.delete(support_url(shown.pk)),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_required"


# --- Listing -----------------------------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_list_shows_open_proposals_newest_first_by_default(citizen_api):
    old = ProposalFactory()
    new = ProposalFactory()
    ProposalFactory(under_review=True)
    ProposalFactory(support_deadline=timezone.now() - timedelta(minutes=1))  # due, not yet swept
    ProposalFactory(hidden_at=timezone.now())

    assert ids(citizen_api.get(URL)) == [new.pk, old.pk]


def test_list_filters_by_status(citizen_api):
    open_ = ProposalFactory()
    review = ProposalFactory(under_review=True)
    rejected = ProposalFactory(status=Proposal.Status.REJECTED, rejection_reason="중복")
    expired = ProposalFactory(status=Proposal.Status.EXPIRED)
    due = ProposalFactory(support_deadline=timezone.now() - timedelta(minutes=1))
    accepted = ProposalFactory(status=Proposal.Status.ACCEPTED)

    assert ids(citizen_api.get(URL, {"status": "open"})) == [open_.pk]
    assert ids(citizen_api.get(URL, {"status": "under_review"})) == [review.pk]
    assert ids(citizen_api.get(URL, {"status": "rejected"})) == [rejected.pk]
    assert ids(citizen_api.get(URL, {"status": "accepted"})) == [accepted.pk]
    assert ids(citizen_api.get(URL, {"status": "expired"})) == [due.pk, expired.pk]
    expired_items = citizen_api.get(URL, {"status": "expired"}).json()["results"]
    assert {item["status"] for item in expired_items} == {"expired"}


def test_list_filters_by_district(citizen_api):
    city = ProposalFactory()
    jongno = ProposalFactory(district_id=JONGNO)
    ProposalFactory(district_id=GANGNAM)

    assert ids(citizen_api.get(URL, {"district": JONGNO})) == [jongno.pk]
    assert ids(citizen_api.get(URL, {"district": "city"})) == [city.pk]
    assert len(ids(citizen_api.get(URL))) == 3
    item = citizen_api.get(URL, {"district": JONGNO}).json()["results"][0]
    assert item["district"] == {"code": JONGNO, "name": "종로구"}


def test_list_orders_by_support(citizen_api):
    few = ProposalFactory(support_count=2)
    many = ProposalFactory(support_count=9)
    none = ProposalFactory()
    assert ids(citizen_api.get(URL, {"order": "support"})) == [many.pk, few.pk, none.pk]


def test_list_items_say_whether_i_support_it_and_whether_it_is_mine(citizen_api, citizen):
    mine = ProposalFactory(author=citizen)
    supported = ProposalFactory()
    other = ProposalFactory()
    services.support(proposal=supported, user=citizen)
    accepted = ProposalFactory(status=Proposal.Status.ACCEPTED)
    from tests.factories import PollFactory

    poll = PollFactory(published=False)
    Proposal.objects.filter(pk=accepted.pk).update(poll=poll)

    items = {item["id"]: item for item in citizen_api.get(URL).json()["results"]}
    assert (items[mine.pk]["is_mine"], items[mine.pk]["supported"]) == (True, False)
    assert (items[supported.pk]["is_mine"], items[supported.pk]["supported"]) == (False, True)
    assert items[supported.pk]["support_count"] == 1
    assert (items[other.pk]["is_mine"], items[other.pk]["supported"]) == (False, False)
    assert set(items[other.pk]) == {
        "id",
        "title",
        "status",
        "district",
        "support_count",
        "support_threshold",
        "support_deadline",
        "supported",
        "is_mine",
        "hidden",
        "poll",
        "created_at",
    }
    accepted_item = citizen_api.get(URL, {"status": "accepted"}).json()["results"][0]
    assert accepted_item["poll"] == poll.pk


@pytest.mark.parametrize(
    "params",
    [
        {"status": "draft"},
        {"order": "oldest"},
        {"district": "jongno"},
        {"district": "11110000000"},
        {"district": "1111000000\x00"},
        {"page_size": "x"},
    ],
)
def test_list_refuses_bad_parameters(citizen_api, params):
    response = citizen_api.get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


def test_list_takes_a_constant_number_of_queries(citizen_api, citizen, django_assert_num_queries):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert citizen_api.get(URL, {"page_size": 50}).status_code == 200
        return len(queries)

    ProposalFactory(district_id=JONGNO)
    page_queries()  # warms authentication's cache (0 queries from then on)
    few = page_queries()
    for proposal in [*ProposalFactory.create_batch(5, district_id=GANGNAM), ProposalFactory()]:
        Support.objects.create(proposal=proposal, user=citizen)
    ProposalFactory(author=citizen, district_id=JONGNO)
    assert page_queries() == few
    # The count, the page (districts joined, "supported" as a subquery).
    with django_assert_num_queries(2):
        assert len(citizen_api.get(URL, {"page_size": 50}).json()["results"]) == 8


def test_list_is_paginated(citizen_api):
    ProposalFactory.create_batch(3)
    body = citizen_api.get(URL, {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


# --- Detail ------------------------------------------------------------------------------------


def test_detail_shows_options_images_and_decision(citizen_api):
    proposal = ProposalFactory(
        status=Proposal.Status.REJECTED,
        rejection_reason="예산 범위를 벗어납니다.",
        district_id=JONGNO,
        options=["A안", "B안", "C안"],
    )
    ProposalImage.objects.create(proposal=proposal, image="proposals/x.png", alt="현장 사진")

    response = citizen_api.get(detail_url(proposal.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "rejected"
    assert body["rejection_reason"] == "예산 범위를 벗어납니다."
    assert [(o["label"], o["position"]) for o in body["options"]] == [
        ("A안", 0),
        ("B안", 1),
        ("C안", 2),
    ]
    assert body["images"][0]["alt"] == "현장 사진"
    assert body["images"][0]["url"].endswith("/media/proposals/x.png")
    assert body["description"] == proposal.description
    assert body["duration_days"] == 14
    assert body["hidden_reason"] is None
    assert "author" not in body
    assert proposal.author.phone not in response.content.decode()


def test_detail_of_an_unknown_proposal_is_a_json_404(citizen_api):
    response = citizen_api.get(detail_url(999999))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert citizen_api.get(f"{URL}999999999999999999999/").status_code == 404


def test_hidden_proposals_are_gone_for_others_but_not_for_their_author(citizen_api, client_for):
    proposal = ProposalFactory()
    decisions.hide_proposal(
        proposal=proposal, by=OfficialFactory(role="official"), reason="욕설이 포함되어 있습니다."
    )

    assert citizen_api.get(detail_url(proposal.pk)).status_code == 404
    assert ids(citizen_api.get(URL)) == []
    assert citizen_api.post(support_url(proposal.pk)).status_code == 404

    author = client_for(proposal.author)
    body = author.get(detail_url(proposal.pk)).json()
    assert body["hidden"] is True
    assert body["hidden_reason"] == "욕설이 포함되어 있습니다."
    assert ids(author.get(URL)) == [proposal.pk]


def test_a_rejection_reason_is_public(citizen_api):
    proposal = ProposalFactory(under_review=True)
    official = OfficialFactory(role="official")
    decisions.reject_proposal(proposal=proposal, by=official, reason="이미 시행 중")
    body = citizen_api.get(detail_url(proposal.pk)).json()
    assert (body["status"], body["rejection_reason"]) == ("rejected", "이미 시행 중")
    assert body["decided_at"]


# --- Images ------------------------------------------------------------------------------------


def upload(client, proposal_id, content=None, name="photo.png", alt="현장 사진"):
    file = SimpleUploadedFile(name, png_bytes() if content is None else content, "image/png")
    return client.post(images_url(proposal_id), {"image": file, "alt": alt}, format="multipart")


def test_the_author_adds_images(client_for):
    proposal = ProposalFactory()
    client = client_for(proposal.author)

    response = upload(client, proposal.pk)

    assert response.status_code == 201, response.json()
    assert response.json()["alt"] == "현장 사진"
    image = ProposalImage.objects.get(proposal=proposal)
    assert image.image.name.startswith("proposals/")
    assert client.get(detail_url(proposal.pk)).json()["images"][0]["id"] == image.pk


def test_at_most_three_images(client_for):
    proposal = ProposalFactory()
    client = client_for(proposal.author)
    for _ in range(3):
        assert upload(client, proposal.pk).status_code == 201
    response = upload(client, proposal.pk)
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_images"


@pytest.mark.parametrize(
    ("content", "name", "alt", "field"),
    [
        (b"not an image at all", "photo.png", "사진", "image"),
        (b"GIF89a" + b"\x00" * 20, "anim.gif", "사진", "image"),
        (None, "photo.png", "", "alt"),
        (None, "photo.png", "a" * 201, "alt"),
    ],
)
def test_invalid_images_are_refused(client_for, content, name, alt, field):
    proposal = ProposalFactory()
    response = upload(client_for(proposal.author), proposal.pk, content, name, alt)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not ProposalImage.objects.exists()


def test_a_gif_is_refused_by_format(client_for):
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="GIF")
    proposal = ProposalFactory()
    response = upload(client_for(proposal.author), proposal.pk, buffer.getvalue(), "a.gif")
    assert response.status_code == 400
    assert "image" in response.json()["fields"]


def test_too_large_images_are_refused(client_for, settings):
    settings.POLL_IMAGE_MAX_BYTES = 10
    proposal = ProposalFactory()
    response = upload(client_for(proposal.author), proposal.pk)
    assert response.status_code == 400
    assert "image" in response.json()["fields"]


def test_only_the_author_adds_images(citizen_api):
    proposal = ProposalFactory()
    response = upload(citizen_api, proposal.pk)
    assert response.status_code == 403
    assert response.json()["code"] == "not_author"


def test_no_images_once_supported(client_for, citizen):
    proposal = ProposalFactory()
    services.support(proposal=proposal, user=citizen)
    response = upload(client_for(proposal.author), proposal.pk)
    assert response.status_code == 409
    assert response.json()["code"] == "images_locked"


def test_images_of_an_unknown_proposal_404(citizen_api):
    assert upload(citizen_api, 424242).status_code == 404


def test_images_need_multipart(client_for):
    proposal = ProposalFactory()
    response = client_for(proposal.author).post(
        images_url(proposal.pk), {"alt": "x"}, format="json"
    )
    assert response.status_code == 415


# --- Supporting --------------------------------------------------------------------------------


def test_support_once_then_withdraw(citizen_api, citizen):
    proposal = ProposalFactory()

    response = citizen_api.post(support_url(proposal.pk))
    assert response.status_code == 201
    assert response.json() == {"support_count": 1, "status": "open", "supported": True}
    assert citizen_api.get(detail_url(proposal.pk)).json()["supported"] is True

    again = citizen_api.post(support_url(proposal.pk))
    assert again.status_code == 409
    assert again.json()["code"] == "already_supported"

    withdrawn = citizen_api.delete(support_url(proposal.pk))
    assert withdrawn.status_code == 200
    assert withdrawn.json() == {"support_count": 0, "status": "open", "supported": False}
    assert not Support.objects.exists()

    not_supported = citizen_api.delete(support_url(proposal.pk))
    assert not_supported.status_code == 409
    assert not_supported.json()["code"] == "not_supported"


def test_support_reaching_the_threshold(citizen_api, settings):
    settings.PROPOSAL_SUPPORT_THRESHOLD = 1
    proposal = ProposalFactory()
    response = citizen_api.post(support_url(proposal.pk))
    assert response.json() == {"support_count": 1, "status": "under_review", "supported": True}
    closed = citizen_api.delete(support_url(proposal.pk))
    assert closed.status_code == 409
    assert closed.json()["code"] == "proposal_not_open"


@pytest.mark.parametrize(
    ("user_fields", "proposal_fields", "status_code", "code"),
    [
        ({}, {"status": Proposal.Status.EXPIRED}, 409, "proposal_not_open"),
        ({}, {"support_deadline": timezone.now() - timedelta(seconds=1)}, 409, "proposal_not_open"),
        ({"phone_verified": False}, {}, 403, "verification_required"),
        ({"district_id": SINSA}, {"district_id": JONGNO}, 403, "not_resident"),
    ],
)
def test_support_refusals(client_for, user_fields, proposal_fields, status_code, code):
    proposal = ProposalFactory(**proposal_fields)
    response = client_for(CitizenFactory(**user_fields)).post(support_url(proposal.pk))
    assert response.status_code == status_code
    assert response.json()["code"] == code
    assert not Support.objects.exists()


def test_the_author_cannot_support(client_for):
    proposal = ProposalFactory()
    response = client_for(proposal.author).post(support_url(proposal.pk))
    assert response.status_code == 409
    assert response.json()["code"] == "own_proposal"


def test_support_of_an_unknown_proposal_404(citizen_api):
    assert citizen_api.post(support_url(31337)).status_code == 404
    assert citizen_api.delete(support_url(31337)).status_code == 404


def test_supporters_are_never_listed(citizen_api, citizen):
    proposal = ProposalFactory()
    services.support(proposal=proposal, user=citizen)
    text = citizen_api.get(detail_url(proposal.pk)).content.decode()
    assert citizen.phone not in text
    assert "supporters" not in text


def test_a_form_body_is_refused_as_json_only(citizen_api):
    response = citizen_api.post(URL, payload(), format="multipart")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_supporting_and_withdrawing_are_rate_limited(client_for, settings):
    """Support/withdraw toggling and proposal spam are bounded per citizen (reads are not)."""
    settings.PROPOSAL_THROTTLE = "3/min,100/day"
    proposal = ProposalFactory()
    client = client_for(CitizenFactory())

    statuses = [
        client.post(support_url(proposal.pk)).status_code,
        client.delete(support_url(proposal.pk)).status_code,
        client.post(support_url(proposal.pk)).status_code,
        client.delete(support_url(proposal.pk)).status_code,
    ]

    assert statuses == [201, 200, 201, 429]
    limited = client.post(support_url(proposal.pk))
    assert limited.json()["code"] == "throttled"
    assert "Retry-After" in limited.headers
    assert client.get(detail_url(proposal.pk)).status_code == 200
    proposal.refresh_from_db()
    assert proposal.support_count == 1  # the refused withdrawal changed nothing
