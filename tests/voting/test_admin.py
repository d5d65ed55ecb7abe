"""The officials' admin for polls: authoring, scoping, frozen fields, actions, results, audit log.

Everything goes through real admin HTTP requests as an official of the ready "official" group.
Texts are asserted in English (the source language): the Korean catalogue may translate them.
"""

import csv
import io
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from PIL import Image

from accounts.models import Verification
from audit.models import AuditEntry
from tests.ballot_box import cast_many, close_and_count, count_now
from tests.district_codes import CHEONGUN, GANGNAM, JONGNO, JUNG, SAJIK, SINSA
from tests.factories import (
    CategoryFactory,
    CitizenFactory,
    OfficialFactory,
    PollFactory,
    born,
)
from tests.voting.conftest import login
from voting import results, services, tallies
from voting.casting import cast_ballot
from voting.models import Option, Poll

# Ages are this year's: the clock stands still, so the year cannot turn mid-test.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

K = 10  # BALLOT_BATCH_MIN, pinned below: the expected tables are written for it

ADD_URL = "/admin/voting/poll/"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _k(settings):
    settings.BALLOT_BATCH_MIN = K
    settings.RESULTS_MIN_CELL = 5


def change_url(poll) -> str:
    return f"/admin/voting/poll/{poll.pk}/change/"


def split(name: str, when: datetime) -> dict:
    local = timezone.localtime(when)
    return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def new_poll_data(*, labels=("찬성", "반대"), districts=(SAJIK,), **overrides) -> dict:
    opens = timezone.now() + timedelta(days=10)
    data = {
        "title": "따릉이 대여소 확대",
        "description": "자전거 대여소를 늘릴까요?",
        "category": "",
        "department": "교통정책과",
        "kind": "single",
        "min_choices": "1",
        "max_choices": "1",
        # The score scale's defaults, as the form shows them (used by score polls only).
        "score_min": "1",
        "score_max": "5",
        "score_abstain": "on",
        **split("opens_at", opens),
        **split("closes_at", opens + timedelta(days=14)),
        "districts": list(districts),
        "min_age": "",
        "max_age": "",
        "min_verification": str(Verification.PHONE),
        "results_visibility": Poll.ResultsVisibility.AFTER_CLOSE,
        **inline(
            "options",
            [
                {"label": label, "description": "", "image_alt": "", "position": str(i)}
                for i, label in enumerate(labels)
            ],
        ),
        **inline("images", []),
    }
    data.update(overrides)
    return data


def change_data(poll: Poll, **overrides) -> dict:
    """The change form as the browser would send it back unchanged."""
    options = list(poll.options.all())
    data = {
        "title": poll.title,
        "description": poll.description,
        "category": poll.category_id or "",
        "department": poll.department,
        "kind": poll.kind,
        "min_choices": str(poll.min_choices),
        "max_choices": str(poll.max_choices),
        "score_min": str(poll.score_min),
        "score_max": str(poll.score_max),
        **({"score_abstain": "on"} if poll.score_abstain else {}),
        **split("opens_at", poll.opens_at),
        **split("closes_at", poll.closes_at),
        "districts": [district.pk for district in poll.districts.all()],
        "groups": [group.pk for group in poll.groups.all()],
        "min_age": "" if poll.min_age is None else str(poll.min_age),
        "max_age": "" if poll.max_age is None else str(poll.max_age),
        "min_verification": str(poll.min_verification),
        "results_visibility": poll.results_visibility,
        **inline(
            "options",
            [
                {
                    "id": str(o.pk),
                    "poll": str(poll.pk),
                    "label": o.label,
                    "description": o.description,
                    "image_alt": o.image_alt,
                    "position": str(o.position),
                }
                for o in options
            ],
            initial=len(options),
        ),
        **inline("images", []),
    }
    data.update(overrides)
    return data


def errors_of(response) -> str:
    """All error texts of the admin form and its inlines, as one string."""
    assert response.status_code == 200, response.status_code
    texts = [str(response.context["adminform"].form.errors)]
    for formset in response.context["inline_admin_formsets"]:
        texts.append(str(formset.formset.non_form_errors()))
        texts.append(str(formset.formset.errors))
    return " ".join(texts)


def png(size=(4, 4), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format=fmt)
    return buffer.getvalue()


def action(client, name: str, *polls):
    return client.post(
        ADD_URL, {"action": name, "_selected_action": [p.pk for p in polls]}, follow=True
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def poll_entries(poll, **filters):
    """The audit log's entries about ``poll``."""
    return AuditEntry.objects.filter(subject_type="poll", subject_id=poll.pk, **filters)


# --- Authoring --------------------------------------------------------------------------------


def test_official_creates_a_poll_owner_set_and_creation_audited(jongno_official):
    client = login(jongno_official)
    category = CategoryFactory()

    response = client.post(
        ADD_URL + "add/",
        new_poll_data(districts=(SAJIK, CHEONGUN), category=str(category.pk)),
    )

    assert response.status_code == 302, errors_of(response)
    poll = Poll.objects.get(title="따릉이 대여소 확대")
    assert poll.owner == jongno_official
    assert not poll.published  # a new poll is a draft until it is published (its own page)
    assert [o.label for o in poll.options.all()] == ["찬성", "반대"]
    assert sorted(poll.districts.values_list("code", flat=True)) == [CHEONGUN, SAJIK]
    entry = poll_entries(poll).get()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor == jongno_official
    assert entry.actor_name == jongno_official.username
    assert entry.changes["title"] == [None, "따릉이 대여소 확대"]
    assert entry.changes["districts"] == [None, [CHEONGUN, SAJIK]]
    assert entry.changes["options"][1] == ["0. 찬성", "1. 반대"]


def test_closing_before_opening_is_refused_with_a_clear_message(city_official):
    client = login(city_official)
    opens = timezone.now() + timedelta(days=5)
    data = new_poll_data(**split("opens_at", opens), **split("closes_at", opens - timedelta(1)))

    response = client.post(ADD_URL + "add/", data)

    assert "A poll must close after it opens." in errors_of(response)
    assert not Poll.objects.exists()


def test_a_single_option_is_refused(city_official):
    response = login(city_official).post(ADD_URL + "add/", new_poll_data(labels=("찬성",)))

    assert "A poll needs at least two options (it has 1)." in errors_of(response)
    assert not Poll.objects.exists()


def test_more_choices_than_options_is_refused(city_official):
    data = new_poll_data(labels=("A", "B"), kind="multiple", min_choices="1", max_choices="3")

    response = login(city_official).post(ADD_URL + "add/", data)

    assert "At most 3 choices were allowed, but the poll has only 2 options" in errors_of(response)
    assert not Poll.objects.exists()


def test_multiple_choice_needs_at_least_one_choice_and_max_at_least_min(city_official):
    client = login(city_official)
    zero = new_poll_data(labels=("A", "B", "C"), kind="multiple", min_choices="0")
    inverted = new_poll_data(
        labels=("A", "B", "C"), kind="multiple", min_choices="3", max_choices="2"
    )

    assert "At least one option must be chosen." in errors_of(client.post(ADD_URL + "add/", zero))
    assert "The maximum must be at least the minimum." in errors_of(
        client.post(ADD_URL + "add/", inverted)
    )
    assert not Poll.objects.exists()


def test_multiple_choice_within_the_options_is_saved(city_official):
    data = new_poll_data(labels=("A", "B", "C"), kind="multiple", min_choices="1", max_choices="2")

    response = login(city_official).post(ADD_URL + "add/", data)

    assert response.status_code == 302, errors_of(response)
    poll = Poll.objects.get()
    assert (poll.kind, poll.min_choices, poll.max_choices) == ("multiple", 1, 2)


def test_single_choice_forces_one_choice(city_official):
    data = new_poll_data(labels=("A", "B", "C"), kind="single", min_choices="2", max_choices="3")

    response = login(city_official).post(ADD_URL + "add/", data)

    assert response.status_code == 302, errors_of(response)
    poll = Poll.objects.get()
    assert (poll.min_choices, poll.max_choices) == (1, 1)


def test_images_of_a_wrong_type_or_size_are_refused(city_official, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = login(city_official)
    gif = SimpleUploadedFile("map.gif", png(fmt="GIF"), content_type="image/gif")
    data = new_poll_data(
        **inline(
            "images", [{"image": gif, "caption": "지도", "alt": "대여소 지도", "position": "0"}]
        )
    )

    response = client.post(ADD_URL + "add/", data)

    assert "Use a JPEG, PNG or WebP image." in errors_of(response)
    assert not Poll.objects.exists()

    settings.POLL_IMAGE_MAX_BYTES = 50
    big = SimpleUploadedFile("map.png", png(size=(64, 64)), content_type="image/png")
    data["images-0-image"] = big
    response = client.post(ADD_URL + "add/", data)

    assert "The image is too large" in errors_of(response)
    assert not Poll.objects.exists()


def test_a_png_image_is_accepted(city_official, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = SimpleUploadedFile("map.png", png(), content_type="image/png")
    data = new_poll_data(
        **inline(
            "images",
            [
                {
                    "image": image,
                    "caption": "지도",
                    "alt": "대여소 지도",
                    "is_cover": "on",
                    "position": "0",
                }
            ],
        )
    )

    response = login(city_official).post(ADD_URL + "add/", data)

    assert response.status_code == 302, errors_of(response)
    stored = Poll.objects.get().images.get()
    assert stored.is_cover and stored.alt == "대여소 지도"


def test_edit_is_audited_with_what_changed(city_official):
    poll = PollFactory(published=False, districts=[JONGNO])
    client = login(city_official)

    data = change_data(poll, title="따릉이 확대 (수정)", districts=[JONGNO, GANGNAM])
    response = client.post(change_url(poll), data)

    assert response.status_code == 302, errors_of(response)
    entry = poll_entries(poll, action=AuditEntry.Action.EDIT).get()
    assert entry.changes["title"] == [poll.title, "따릉이 확대 (수정)"]
    assert entry.changes["districts"] == [[JONGNO], [JONGNO, GANGNAM]]
    assert entry.actor == city_official


# --- Scoping ----------------------------------------------------------------------------------


def test_gu_official_sees_only_polls_inside_their_gu(jongno_official):
    inside = PollFactory(title="종로 정책", districts=[SAJIK])
    outside = PollFactory(title="강남 정책", districts=[GANGNAM])
    seoul = PollFactory(title="서울 전체 정책")  # all of Seoul: city-wide work
    client = login(jongno_official)

    listing = client.get(ADD_URL)
    assert listing.status_code == 200
    shown = set(listing.context["cl"].result_list)
    assert shown == {inside}

    assert client.get(change_url(inside)).status_code == 200
    for other in (outside, seoul):
        response = client.get(change_url(other))
        assert response.status_code == 302  # "does not exist": back to the admin index
        assert response.url == "/admin/"
        assert client.get(f"/admin/voting/poll/{other.pk}/results/").status_code == 404
        assert client.get(f"/admin/voting/poll/{other.pk}/results/csv/").status_code == 404
    # A crafted edit of another gu's poll changes nothing.
    response = client.post(change_url(outside), change_data(outside, title="바꿈"))
    outside.refresh_from_db()
    assert outside.title == "강남 정책"


def test_gu_official_cannot_target_another_gu_or_all_of_seoul(jongno_official):
    client = login(jongno_official)

    response = client.post(ADD_URL + "add/", new_poll_data(districts=(SAJIK, SINSA)))
    assert "is not a district you may target" in errors_of(response)

    response = client.post(ADD_URL + "add/", new_poll_data(districts=()))
    assert "Choose at least one district inside your gu" in errors_of(response)

    assert not Poll.objects.exists()


def test_gu_official_cannot_move_their_poll_into_another_gu(jongno_official):
    poll = PollFactory(published=False, districts=[SAJIK])
    client = login(jongno_official)

    response = client.post(change_url(poll), change_data(poll, districts=[GANGNAM]))

    assert "is not a district you may target" in errors_of(response)
    assert list(poll.districts.values_list("code", flat=True)) == [SAJIK]


def test_district_autocomplete_offers_only_targetable_districts(jongno_official, city_official):
    params = {"app_label": "voting", "model_name": "poll", "field_name": "districts"}
    url = "/admin/voting/poll/district-autocomplete/"

    jongno = login(jongno_official).get(url, {**params, "term": "동"}).json()
    codes = {row["id"] for row in jongno["results"]}
    assert codes and all(code.startswith("11110") for code in codes)

    gangnam = login(jongno_official).get(url, {**params, "term": "Gangnam"}).json()
    assert gangnam["results"] == []

    city = login(city_official).get(url, {**params, "term": "Gangnam"}).json()
    assert GANGNAM in {row["id"] for row in city["results"]}


def test_city_wide_official_sees_every_poll(city_official):
    polls = {
        PollFactory(districts=[SAJIK]),
        PollFactory(districts=[GANGNAM]),
        PollFactory(),
    }
    client = login(city_official)

    assert set(client.get(ADD_URL).context["cl"].result_list) == polls
    for poll in polls:
        assert client.get(change_url(poll)).status_code == 200


def test_city_wide_official_may_target_all_of_seoul(city_official):
    response = login(city_official).post(ADD_URL + "add/", new_poll_data(districts=()))

    assert response.status_code == 302, errors_of(response)
    assert not Poll.objects.get().districts.exists()


def test_superuser_sets_an_officials_jurisdiction(jongno_official):
    admin = OfficialFactory(is_superuser=True)
    page = login(admin).get(f"/admin/accounts/user/{jongno_official.pk}/change/")
    assert 'name="jurisdiction"' in page.content.decode()

    # An official may not widen their own scope.
    own = login(jongno_official).get(f"/admin/accounts/user/{jongno_official.pk}/change/")
    assert own.status_code == 200
    assert 'name="jurisdiction"' not in own.content.decode()


# --- Frozen after the first ballot -------------------------------------------------------------


def test_after_the_first_ballot_options_kind_and_audience_are_frozen(city_official):
    poll = PollFactory(options=["찬성", "반대"])
    yes, no = poll.options.all()
    cast_ballot(poll=poll, voter=CitizenFactory(district_id=SAJIK), option_ids=[yes.pk])
    client = login(city_official)

    page = client.get(change_url(poll))
    form = page.context["adminform"].form
    for name in ("kind", "min_choices", "max_choices", "districts", "groups", "min_verification"):
        assert name not in form.fields
    assert "title" in form.fields
    assert "This poll has ballots" in page.content.decode()

    data = change_data(
        poll,
        title="찬반 투표 (오타 수정)",
        kind="multiple",
        min_choices="1",
        max_choices="2",
        districts=[GANGNAM],
        min_verification=str(Verification.RESIDENT),
        **{
            "options-0-label": "찬성 (바뀜)",
            "options-0-description": "설명 추가",
            "options-1-DELETE": "on",
            "options-TOTAL_FORMS": "3",
            "options-2-label": "새 선택지",
            "options-2-position": "2",
        },
    )
    response = client.post(change_url(poll), data)

    assert response.status_code == 302, errors_of(response)
    poll.refresh_from_db()
    assert poll.title == "찬반 투표 (오타 수정)"  # text typos are fine
    assert (poll.kind, poll.min_choices, poll.max_choices) == ("single", 1, 1)
    assert poll.min_verification == Verification.PHONE
    assert not poll.districts.exists()
    options = list(poll.options.all())
    assert [(o.pk, o.label) for o in options] == [(yes.pk, "찬성"), (no.pk, "반대")]
    assert options[0].description == "설명 추가"
    entry = poll_entries(poll, action=AuditEntry.Action.EDIT).get()
    assert "title" in entry.changes
    assert not {"kind", "districts", "min_verification"} & set(entry.changes)


def test_a_draft_without_ballots_can_still_change_everything(city_official):
    poll = PollFactory(published=False, options=["A", "B"])

    data = change_data(poll, kind="multiple", min_choices="1", max_choices="2", districts=[GANGNAM])
    data.update({"options-TOTAL_FORMS": "3", "options-2-label": "C", "options-2-position": "2"})
    response = login(city_official).post(change_url(poll), data)

    assert response.status_code == 302, errors_of(response)
    poll.refresh_from_db()
    assert (poll.kind, poll.max_choices) == ("multiple", 2)
    assert [o.label for o in poll.options.all()] == ["A", "B", "C"]


# --- Audience estimate -------------------------------------------------------------------------


def test_change_page_shows_the_audience_estimate(city_official):
    for _ in range(3):
        CitizenFactory(district_id=SAJIK)  # phone-verified
    CitizenFactory(district_id=CHEONGUN, verification=Verification.RESIDENT)
    CitizenFactory(district_id=SAJIK, verification=Verification.UNVERIFIED, phone_verified=False)
    CitizenFactory(district_id=SINSA)  # another gu
    poll = PollFactory(published=False, districts=[JONGNO])
    client = login(city_official)

    page = client.get(change_url(poll)).content.decode()
    assert "Reaches 5 registered citizens (4 phone-verified)." in page

    poll.min_verification = Verification.RESIDENT
    poll.save()
    page = client.get(change_url(poll)).content.decode()
    assert "Reaches 5 registered citizens (1 resident-verified)." in page


# --- List --------------------------------------------------------------------------------------


def test_list_filters_by_status_and_shows_participants_in_one_query(city_official):
    """The participants column shows the ballots counted: 2k cast in an open poll, the counter
    counts the oldest k (the newest k wait for the next batch)."""
    now = timezone.now()
    draft = PollFactory(published=False, title="초안")
    upcoming = PollFactory(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2))
    open_poll = PollFactory(title="진행 중")
    closed = PollFactory(opens_at=now - timedelta(days=3), closes_at=now - timedelta(days=1))
    cast_many(open_poll, 2 * K)
    assert count_now() == K
    client = login(city_official)

    for status, poll in (
        ("draft", draft),
        ("upcoming", upcoming),
        ("open", open_poll),
        ("closed", closed),
    ):
        assert list(client.get(ADD_URL, {"status": status}).context["cl"].result_list) == [poll]

    listing = client.get(ADD_URL, {"status": "open"})
    row = re.search(r"<tr.*?</tr>", listing.content.decode().split("<tbody>")[1], re.S).group()
    assert "진행 중" in row and f">{K}<" in row

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ADD_URL).status_code == 200
        return len(queries)

    few = queries_for_list()
    for _ in range(4):
        PollFactory()
    assert queries_for_list() == few  # participants: one query for the page, not one per row


def test_list_filters_by_district_and_searches_by_title(city_official):
    jongno = PollFactory(title="종로 자전거", districts=[JONGNO])
    PollFactory(title="강남 자전거", districts=[GANGNAM])
    client = login(city_official)

    by_district = client.get(ADD_URL, {"districts__code__exact": JONGNO})
    assert list(by_district.context["cl"].result_list) == [jongno]
    found = client.get(ADD_URL, {"q": "자전거"}).context["cl"].result_list
    assert len(found) == 2


# --- Actions -----------------------------------------------------------------------------------


def publish(client, poll):
    """The publish page's button (voting/admin/publishing.py; tests/voting/test_publishing.py)."""
    return client.post(f"/admin/voting/poll/{poll.pk}/publish/", follow=True)


def test_publishing_is_no_longer_a_bulk_action(city_official):
    """Publishing notifies the whole audience: only from its page, after a preview and a
    confirmation, never from a ticked row in the list."""
    draft = PollFactory(published=False)
    client = login(city_official)

    listing = client.get(ADD_URL)
    action(client, "publish", draft)

    names = [name for name, _label in listing.context["action_form"].fields["action"].choices]
    assert "publish" not in names and "close_now" in names
    draft.refresh_from_db()
    assert not draft.published
    assert not poll_entries(draft).exists()


def test_publish_page_publishes_and_audits(city_official):
    draft = PollFactory(published=False)
    lonely = PollFactory(published=False, title="선택지 하나", options=["혼자"])
    client = login(city_official)

    published = publish(client, draft)
    refused = publish(client, lonely)

    draft.refresh_from_db()
    lonely.refresh_from_db()
    assert draft.published and not lonely.published
    assert poll_entries(draft).get().action == AuditEntry.Action.PUBLISH
    assert not poll_entries(lonely).exists()
    assert f"“{draft.title}”: published." in messages_of(published)
    assert any("선택지 하나" in t and "at least two options" in t for t in messages_of(refused))


def test_close_now_action_closes_and_audits(city_official):
    open_poll = PollFactory()
    draft = PollFactory(published=False)

    response = action(login(city_official), "close_now", open_poll, draft)

    open_poll.refresh_from_db()
    assert open_poll.status == Poll.Status.CLOSED
    assert open_poll.closed_early_at is not None
    entry = poll_entries(open_poll).get()
    assert entry.action == AuditEntry.Action.CLOSE and entry.actor == city_official
    assert not poll_entries(draft).exists()
    texts = messages_of(response)
    assert f"“{open_poll.title}”: closed." in texts
    assert any(draft.title in t and "not open for voting" in t for t in texts)


def test_duplicate_action_makes_an_audited_draft(jongno_official):
    source = PollFactory(title="원본", districts=[SAJIK], options=["가", "나", "다"])

    response = action(login(jongno_official), "duplicate", source)

    copy = Poll.objects.exclude(pk=source.pk).get()
    assert not copy.published and copy.owner == jongno_official
    assert copy.title == "Copy of 원본"
    assert [o.label for o in copy.options.all()] == ["가", "나", "다"]
    assert list(copy.districts.values_list("code", flat=True)) == [SAJIK]
    entry = poll_entries(copy).get()
    assert entry.action == AuditEntry.Action.DUPLICATE
    assert entry.changes == {"from": source.pk}
    assert any("duplicated as a new draft" in t for t in messages_of(response))


def test_publish_results_action_for_officials_visibility(city_official):
    now = timezone.now()
    past = {"opens_at": now - timedelta(days=3), "closes_at": now - timedelta(days=1)}
    closed = PollFactory(results_visibility="officials", **past)
    automatic = PollFactory(results_visibility="after_close", **past)
    still_open = PollFactory(results_visibility="officials")

    response = action(login(city_official), "publish_results_now", closed, automatic, still_open)

    closed.refresh_from_db()
    automatic.refresh_from_db()
    still_open.refresh_from_db()
    assert closed.results_published_at is not None
    assert automatic.results_published_at is None
    assert still_open.results_published_at is None
    assert AuditEntry.objects.get().action == AuditEntry.Action.PUBLISH_RESULTS
    assert poll_entries(closed).get() == AuditEntry.objects.get()
    texts = messages_of(response)
    assert f"“{closed.title}”: results published." in texts
    assert any(still_open.title in t and "once the poll has closed" in t for t in texts)


def test_actions_never_reach_another_gus_poll(jongno_official):
    outside = PollFactory(published=False, districts=[GANGNAM])

    response = publish(login(jongno_official), outside)

    assert response.status_code == 404
    outside.refresh_from_db()
    assert not outside.published
    assert not AuditEntry.objects.exists()


# --- Results page and CSV ----------------------------------------------------------------------


@pytest.fixture
def poll_below_k():
    """A closed poll whose whole turnout (k - 1) stays below k: final, nothing ever counted."""
    poll = PollFactory(title="소수 투표", options=["찬성", "반대"], results_visibility="officials")
    cast_many(poll, K - 1, district_id=SAJIK, birth_year=born(35), gender="female")
    assert close_and_count(poll) == 0
    return poll


class TableReader(HTMLParser):
    """The text of every cell of the tables with an id, by table id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id"):
            self._table = dict(attrs)["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    @classmethod
    def of(cls, response) -> dict[str, list[list[str]]]:
        reader = cls()
        reader.feed(response.content.decode())
        return reader.tables


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def csv_section(rows: list[list[str]], title: str) -> list[list[str]]:
    """The data rows of one section of the results CSV (after its title and header)."""
    start = rows.index([title]) + 2
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start:end]


def expected_rows(document: dict, suppressed: str) -> dict[str, list[list[str]]]:
    """The breakdown rows ``results.build`` gives, as the admin must show them."""

    def shown(value) -> str:
        return suppressed if value is None else str(value)

    def numbers(cell) -> list[str]:
        return [shown(cell["total"]), *(shown(o["votes"]) for o in cell["options"])]

    breakdown = document["breakdown"]
    return {
        "gu": [[c["name"], c["code"], *numbers(c)] for c in breakdown["gu"]],
        "age": [[c["label"], *numbers(c)] for c in breakdown["age_band"]],
        "gender": [[c["gender"], *numbers(c)] for c in breakdown["gender"]],
    }


def test_results_page_shows_breakdowns_with_suppression(city_official, voted_poll):
    document = results.build(voted_poll, tallies.read(voted_poll.pk))
    response = login(city_official).get(f"/admin/voting/poll/{voted_poll.pk}/results/")

    assert response.status_code == 200
    assert response.context["total"] == 44
    reader = TableReader()
    reader.feed(response.content.decode())
    options = reader.tables["results-options"]
    assert options[0] == ["Option", "Votes", "Share"]
    assert options[1:] == [["찬성", "34", "77.3%"], ["반대", "10", "22.7%"]]

    expected = expected_rows(document, "—")
    assert reader.tables["results-gu"][0] == ["Gu", "Code", "Participants", "찬성", "반대"]
    for key in ("gu", "age", "gender"):
        assert reader.tables[f"results-{key}"][1:] == expected[key]
    # 종로구's 4 "no" votes are withheld, and its 10 "yes" that would give them away; 중구's 0
    # likewise. 강남구's numbers stay: each column already has two withheld.
    assert reader.tables["results-gu"][1:] == [
        ["Jongno-gu", JONGNO, "14", "—", "—"],
        ["Jung-gu", JUNG, "10", "—", "—"],
        ["Gangnam-gu", GANGNAM, "20", "14", "6"],
    ]
    # The 3 "other" ballots are not listed, nor the 10 "male" that would give them away
    # (44 - 31 - 10 = 3). No row is listed as withheld whole.
    assert reader.tables["results-gender"][1:] == [["female", "31", "25", "6"]]
    assert reader.tables["results-age"][1:] == [["30s", "24", "—", "—"], ["50s", "20", "—", "—"]]
    assert 'title="suppressed"' in response.content.decode()


def test_results_are_shown_to_officials_before_citizens_may_see_them(city_official, voted_poll):
    assert not voted_poll.results_visible_to_citizens()
    response = login(city_official).get(f"/admin/voting/poll/{voted_poll.pk}/results/")
    assert response.status_code == 200
    assert response.context["total"] == 44


def test_results_page_shows_no_total_before_k_ballots_are_counted(city_official):
    """An open poll with 2k - 1 sealed ballots: the counter has nothing to count yet, and the
    official's results page shows no number, only why; one more ballot and k are counted."""
    poll = PollFactory(title="진행 중인 투표", options=["찬성", "반대"])
    cast_many(poll, 2 * K - 1)
    assert count_now() == 0
    client = login(city_official)

    response = client.get(f"/admin/voting/poll/{poll.pk}/results/")

    assert response.status_code == 200
    assert response.context["total"] is None
    html = response.content.decode()
    reader = TableReader()
    reader.feed(html)
    assert reader.tables["results-options"][1:] == [["찬성", "—", "—"], ["반대", "—", "—"]]
    assert "Fewer than 10 ballots counted" in html

    cast_many(poll, 1)
    assert count_now() == K
    counted = client.get(f"/admin/voting/poll/{poll.pk}/results/")
    assert counted.context["total"] == K
    # Breakdowns wait for the close.
    for key in ("gu", "age", "gender"):
        assert len(TableReader.of(counted)[f"results-{key}"]) == 2  # header, "no rows" line


def test_a_poll_below_k_shows_no_total_on_the_results_page_even_after_close(
    city_official, poll_below_k
):
    response = login(city_official).get(f"/admin/voting/poll/{poll_below_k.pk}/results/")

    assert response.status_code == 200
    assert response.context["total"] is None
    html = response.content.decode()
    assert "Fewer than 10 ballots counted" in html
    tables = TableReader.of(response)
    assert tables["results-options"][1:] == [["찬성", "—", "—"], ["반대", "—", "—"]]
    for key in ("gu", "age", "gender"):
        assert len(tables[f"results-{key}"]) == 2  # header, "no rows" line: nothing listed
    total = re.search(r'<dd id="results-total">(.*?)</dd>', html, re.S).group(1)
    assert re.sub(r"<span.*?</span>", "", total, flags=re.S).strip() == "—", total


def test_results_csv_has_bom_korean_labels_and_suppressed_cells(city_official, voted_poll):
    document = results.build(voted_poll, tallies.read(voted_poll.pk))
    response = login(city_official).get(f"/admin/voting/poll/{voted_poll.pk}/results/csv/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="poll-{voted_poll.pk}-results.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response)
    assert rows[0] == ["Poll", "청계천 야간 개방"]
    assert rows[2] == ["Participants", "44"]
    assert ["찬성", "34", "77.3%"] in rows and ["반대", "10", "22.7%"] in rows

    expected = expected_rows(document, "suppressed")
    assert rows[rows.index(["By gu"]) + 1] == ["Gu", "Code", "Participants", "찬성", "반대"]
    assert csv_section(rows, "By gu") == expected["gu"]
    assert csv_section(rows, "By age band") == expected["age"]
    assert csv_section(rows, "By gender") == expected["gender"]
    assert csv_section(rows, "By gu")[0] == ["Jongno-gu", JONGNO, "14", "suppressed", "suppressed"]
    assert csv_section(rows, "By gender") == [["female", "31", "25", "6"]]


def test_a_poll_below_k_has_no_total_in_the_csv_even_after_close(city_official, poll_below_k):
    response = login(city_official).get(f"/admin/voting/poll/{poll_below_k.pk}/results/csv/")

    assert response.status_code == 200
    rows = csv_rows(response)
    participants = next(row for row in rows if row and row[0] == "Participants")
    assert participants[1].startswith("Fewer than 10 ballots counted")
    assert ["찬성", "suppressed", "suppressed"] in rows
    assert ["반대", "suppressed", "suppressed"] in rows
    for title in ("By gu", "By age band", "By gender"):
        assert csv_section(rows, title) == []
    # No number anywhere (the export time aside).
    cells = [cell for row in rows[1:] if row and row[0] != "Exported at" for cell in row[1:]]
    assert not [cell for cell in cells if re.fullmatch(r"[\d.,%]+", cell)], cells


def test_results_page_needs_view_permission(voted_poll):
    no_perms = OfficialFactory()  # staff, but not in the "official" group
    client = login(no_perms)
    assert client.get(f"/admin/voting/poll/{voted_poll.pk}/results/").status_code == 403
    assert client.get(f"/admin/voting/poll/{voted_poll.pk}/results/csv/").status_code == 403
    assert Client().get(f"/admin/voting/poll/{voted_poll.pk}/results/csv/").status_code == 302


def test_nothing_per_citizen_is_registered_in_the_admin():
    """Neither who voted, nor the sealed envelopes and idempotency records, nor the counter's
    state and raw counters: the admin shows results only through ``results.build``."""
    from django.contrib import admin

    from voting.models import (
        BoardEntry,
        BoardTracker,
        CountState,
        Envelope,
        IdempotencyRecord,
        Participation,
        TallyCell,
    )

    for model in (
        Participation,
        Envelope,
        IdempotencyRecord,
        CountState,
        BoardEntry,
        BoardTracker,
        TallyCell,
    ):
        assert not admin.site.is_registered(model), model.__name__


# --- Audit log ---------------------------------------------------------------------------------


def test_audit_log_is_read_only_and_scoped(jongno_official, city_official):
    inside = PollFactory(published=False, title="종로 초안", districts=[SAJIK])
    outside = PollFactory(published=False, title="강남 초안", districts=[GANGNAM])
    publish(login(city_official), inside)
    publish(login(city_official), outside)
    entry = poll_entries(inside).get()
    client = login(jongno_official)

    listing = client.get("/admin/audit/auditentry/")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [entry]
    assert client.get("/admin/audit/auditentry/add/").status_code == 403

    page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "종로 초안" in html

    other = poll_entries(outside).get()
    assert client.get(f"/admin/audit/auditentry/{other.pk}/change/").status_code == 302
    response = client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "edit"})
    assert response.status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).action == AuditEntry.Action.PUBLISH


def test_audit_log_shows_changes_as_json(city_official):
    poll = PollFactory(published=False, title="제목", districts=[JONGNO])
    client = login(city_official)
    client.post(change_url(poll), change_data(poll, title="새 제목"))
    entry = poll_entries(poll).get()

    html = client.get(f"/admin/audit/auditentry/{entry.pk}/change/").content.decode()

    assert '<pre class="audit-changes">' in html
    assert "&quot;title&quot;: [\n    &quot;제목&quot;,\n    &quot;새 제목&quot;\n  ]" in html


def test_poll_change_page_links_to_results(city_official):
    poll = PollFactory()
    html = login(city_official).get(change_url(poll)).content.decode()
    assert f'href="/admin/voting/poll/{poll.pk}/results/"' in html
    assert f'href="/admin/voting/poll/{poll.pk}/results/csv/"' in html


def test_option_queryset_unaffected(city_official):
    # The options inline lists the poll's own options only.
    poll = PollFactory(options=["하나", "둘"])
    PollFactory(options=["다른", "투표"])
    page = login(city_official).get(change_url(poll))
    formset = page.context["inline_admin_formsets"][0].formset
    assert {form.instance.label for form in formset.initial_forms} == {"하나", "둘"}
    assert Option.objects.count() == 4


def test_officials_view_categories_and_superusers_edit_them(city_official):
    category = CategoryFactory()
    listing = login(city_official).get("/admin/voting/category/")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [category]
    assert listing.context["cl"].formset is None  # view-only: no editable positions
    assert login(city_official).get("/admin/voting/category/add/").status_code == 403

    admin = OfficialFactory(is_superuser=True)
    response = login(admin).post(
        "/admin/voting/category/add/",
        {"slug": "environment", "name": "환경", "name_en": "Environment", "position": "2"},
    )
    assert response.status_code == 302
    assert CategoryFactory._meta.model.objects.get(slug="environment").name == "환경"


def test_deleting_a_draft_leaves_an_audit_entry(client, city_official):
    draft = PollFactory(published=False, title="폐기할 초안", options=["가", "나"])
    client.force_login(city_official)

    response = client.post(f"/admin/voting/poll/{draft.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Poll.objects.filter(pk=draft.pk).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DELETE)
    assert (entry.subject_type, entry.subject_id) == ("poll", draft.pk)
    assert entry.title == "폐기할 초안"
    assert entry.actor == city_official
    assert entry.changes["options"] == ["0. 가", "1. 나"]


def test_a_published_poll_cannot_be_deleted(client, city_official):
    poll = PollFactory(opens_at=timezone.now() + timedelta(days=1))
    client.force_login(city_official)
    assert client.post(f"/admin/voting/poll/{poll.pk}/delete/", {"post": "yes"}).status_code == 403
    with pytest.raises(services.PollAlreadyPublished):
        services.delete_draft(poll=poll, by=city_official)
    assert Poll.objects.filter(pk=poll.pk).exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DELETE).exists()
