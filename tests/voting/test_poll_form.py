"""The guided poll form's server side: the Markdown preview, the live audience estimate, the
district picker's labels and order, and the options' positions (voting/admin/authoring.py,
voting/admin/filters.py, voting/admin/inlines.py). The browser side: test_poll_form_browser.py.

Texts are asserted in English (the source language): the Korean catalogue may translate them.
"""

import re

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import Verification
from core.markdown import render
from districts.models import Group
from tests.district_codes import CHEONGUN, GANGNAM, JONGNO, SAJIK, SEOUL, SINSA
from tests.factories import (
    CitizenFactory,
    GroupFactory,
    GroupMembershipFactory,
    OfficialFactory,
    PollFactory,
    born,
)
from tests.voting.conftest import login
from tests.voting.test_admin import inline, new_poll_data
from voting import eligibility
from voting.models import Poll

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PREVIEW_URL = "/admin/voting/poll/markdown-preview/"
ESTIMATE_URL = "/admin/voting/poll/audience-estimate/"
AUTOCOMPLETE_URL = "/admin/voting/poll/district-autocomplete/"
AUTOCOMPLETE = {"app_label": "voting", "model_name": "poll", "field_name": "districts"}
GWANAK_SINSA = "1162068500"  # 관악구 신사동: the other 신사동


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def audience(**fields) -> dict:
    return {"min_verification": str(Verification.PHONE), "min_age": "", "max_age": "", **fields}


# --- Markdown preview ----------------------------------------------------------------------------


def test_the_preview_is_the_html_citizens_get_with_raw_html_escaped(city_official):
    text = (
        "## 대여소\n\n**따릉이** 대여소를 늘립니다.\n\n"
        '<script>alert("x")</script> <img src=x onerror=alert(1)>\n\n'
        "[안내](https://seoul.go.kr) [나쁜 링크](javascript:alert(1))"
    )
    response = login(city_official).post(PREVIEW_URL, {"text": text})

    assert response.status_code == 200
    assert response["content-type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert html == render(text)
    assert "<h2>대여소</h2>" in html and "<strong>따릉이</strong>" in html
    assert '<a href="https://seoul.go.kr" rel="nofollow noopener noreferrer">안내</a>' in html
    # What would run in the official's browser comes back as text.
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html


def test_the_preview_takes_only_a_post_with_its_csrf_token_and_refuses_a_huge_text(city_official):
    assert login(city_official).get(PREVIEW_URL, {"text": "x"}).status_code == 405
    strict = login(city_official, enforce_csrf_checks=True)
    assert strict.post(PREVIEW_URL, {"text": "x"}).status_code == 403
    huge = login(city_official).post(PREVIEW_URL, {"text": "가" * 50_001})
    assert huge.status_code == 413


@pytest.mark.parametrize("url", [PREVIEW_URL, ESTIMATE_URL])
def test_the_endpoints_refuse_citizens_and_officials_who_may_not_write_polls(url):
    citizen = CitizenFactory(district_id=SAJIK)
    response = login(citizen).post(url, {"text": "x", **audience(districts=[SAJIK])})
    assert response.status_code == 302 and "/login/" in response["location"]

    reader = OfficialFactory(perms=["voting.view_poll"])
    response = login(reader).post(url, {"text": "x", **audience(districts=[SAJIK])})
    assert response.status_code == 403


# --- Live audience estimate ----------------------------------------------------------------------


def test_the_estimate_of_a_gu_audience_counts_its_citizens(jongno_official):
    for _ in range(3):
        CitizenFactory(district_id=SAJIK, birth_year=born(30))
    CitizenFactory(district_id=CHEONGUN, verification=Verification.RESIDENT, birth_year=born(70))
    CitizenFactory(district_id=SAJIK, verification=Verification.UNVERIFIED, phone_verified=False)
    CitizenFactory(district_id=SINSA)  # another gu
    client = login(jongno_official)

    response = client.post(ESTIMATE_URL, audience(districts=[JONGNO]))
    assert response.status_code == 200
    assert response.json() == {"text": "Reaches 5 registered citizens (4 phone-verified)."}
    counts = eligibility.estimate(
        eligibility.Audience(district_codes=(JONGNO,), min_verification=Verification.PHONE)
    )
    assert counts == {"registered": 5, "verified": 4}

    narrower = client.post(
        ESTIMATE_URL,
        audience(districts=[SAJIK, CHEONGUN], min_age="60", min_verification="20"),
    )
    assert narrower.json() == {"text": "Reaches 1 registered citizens (1 resident-verified)."}


def test_a_gu_official_cannot_count_another_gu_or_all_of_seoul(jongno_official):
    client = login(jongno_official)

    other_gu = client.post(ESTIMATE_URL, audience(districts=[SINSA]))
    assert other_gu.status_code == 400
    assert "is not a district you may target" in other_gu.json()["text"]

    everyone = client.post(ESTIMATE_URL, audience())
    assert everyone.status_code == 400
    assert "Choose at least one district inside your gu" in everyone.json()["text"]

    bad_age = client.post(ESTIMATE_URL, audience(districts=[SAJIK], min_age="many"))
    assert bad_age.status_code == 400 and "min_age" in bad_age.json()["errors"]

    another_gus_poll = PollFactory(published=False, districts=[GANGNAM])
    response = client.post(ESTIMATE_URL, audience(districts=[SAJIK], poll=another_gus_poll.pk))
    assert response.status_code == 404


def test_the_estimate_over_a_managed_group_needs_the_phone_permission():
    committee = GroupFactory(kind=Group.Kind.MANAGED)
    GroupMembershipFactory(group=committee, user=CitizenFactory(district_id=SAJIK))
    posted = audience(districts=[JONGNO], groups=[committee.pk], private="on")

    without = login(OfficialFactory(role="official")).post(ESTIMATE_URL, posted)
    assert without.status_code == 200
    assert "the estimate is shown to officials who may see phone numbers" in without.json()["text"]
    assert "Reaches" not in without.json()["text"]

    allowed = OfficialFactory(role="official", perms=["accounts.view_phone_number"])
    response = login(allowed).post(ESTIMATE_URL, posted)
    assert response.json() == {"text": "Reaches 1 registered citizens (1 phone-verified)."}


def test_a_saved_private_polls_estimate_counts_its_redeemed_codes(city_official):
    guest = CitizenFactory(district_id=SAJIK)
    poll = PollFactory(published=False, private=True, districts=[JONGNO])
    poll.invitations.create(lookup="x" * 64, redeemed_by=guest)
    client = login(city_official)

    saved = client.post(ESTIMATE_URL, audience(districts=[JONGNO], private="on", poll=poll.pk))
    unsaved = client.post(ESTIMATE_URL, audience(districts=[JONGNO], private="on"))

    assert saved.json()["text"].startswith("Reaches 1 registered")
    assert unsaved.json()["text"].startswith("Reaches 0 registered")


# --- District picker -----------------------------------------------------------------------------


def search(client: Client, term: str) -> list[dict]:
    return client.get(AUTOCOMPLETE_URL, {**AUTOCOMPLETE, "term": term}).json()["results"]


def test_the_two_sinsa_dongs_are_told_apart_by_their_gu(
    city_official, django_assert_max_num_queries
):
    client = login(city_official)

    with django_assert_max_num_queries(9) as captured:
        found = search(client, "신사")
    # The page's count and its rows, each dong's gu joined in: no query per result.
    reads = [q for q in captured.captured_queries if '"districts_district"' in q["sql"]]
    assert len(reads) == 2

    labels = {row["id"]: row["text"] for row in found}
    assert labels[SINSA] == "강남구 신사동"
    assert labels[GWANAK_SINSA] == "관악구 신사동"
    assert labels["1138063100"] == "은평구 신사제1동"
    assert search(client, "신사동")[:2] == [
        {"id": GWANAK_SINSA, "text": "관악구 신사동"},
        {"id": SINSA, "text": "강남구 신사동"},
    ]
    # The gu's name narrows the search: "강남 신사" is the one in 강남구.
    assert search(client, "강남 신사") == [{"id": SINSA, "text": "강남구 신사동"}]


def test_the_best_match_comes_first_and_all_of_seoul_only_when_asked_for(city_official):
    client = login(city_official)

    gangnam = search(client, "강남")
    assert gangnam[0] == {"id": GANGNAM, "text": "강남구"}
    assert {row["id"] for row in gangnam[1:5]} <= {
        row["id"] for row in gangnam if row["text"].startswith("강남구 ")
    }
    opening = search(client, "")
    assert opening[0]["text"].endswith("구") and SEOUL not in {row["id"] for row in opening}
    assert search(client, "서울") == [{"id": SEOUL, "text": "서울특별시 (all of it)"}]


def test_a_gu_official_finds_only_their_gu_labelled(jongno_official):
    client = login(jongno_official)
    assert search(client, "신사") == []
    assert search(client, "사직") == [{"id": SAJIK, "text": "종로구 사직동"}]


def test_the_chosen_districts_are_labelled_with_their_gu_in_the_form(city_official):
    poll = PollFactory(published=False, districts=[SINSA, GANGNAM])
    page = login(city_official).get(f"/admin/voting/poll/{poll.pk}/change/").content.decode()

    assert re.search(rf'<option value="{SINSA}" selected>강남구 신사동</option>', page)
    assert re.search(rf'<option value="{GANGNAM}" selected>강남구</option>', page)


# --- The form ------------------------------------------------------------------------------------


def test_the_add_form_has_four_option_rows_numbered_in_order(city_official):
    page = login(city_official).get("/admin/voting/poll/add/").content.decode()

    positions = re.findall(r'name="options-(\d)-position" value="(\d)"', page)
    assert positions == [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3")]
    for element in ('id="markdown-preview"', 'id="audience-estimate-live" aria-live="polite"'):
        assert element in page
    steps = re.findall(r'id="step-(\w+)-title"', page)
    assert steps == ["content", "options", "audience", "schedule", "results"]


def test_options_are_saved_in_the_order_their_positions_give_and_blank_rows_are_skipped(
    city_official,
):
    data = new_poll_data(labels=())
    # As the form's script leaves them: filled rows numbered by their place, the blank rows it
    # moved keeping the positions they were given.
    rows = [
        {"label": "", "image_alt": "", "position": "0"},
        {"label": "다", "image_alt": "", "position": "2"},
        {"label": "가", "image_alt": "", "position": "0"},
        {"label": "", "image_alt": "", "position": "3"},
        {"label": "나", "image_alt": "", "position": "1"},
    ]
    data.update(inline("options", rows))

    response = login(city_official).post("/admin/voting/poll/add/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    poll = Poll.objects.get()
    assert list(poll.options.values_list("label", "position")) == [
        ("가", 0),
        ("나", 1),
        ("다", 2),
    ]


def test_validation_messages_stand_next_to_their_field(city_official):
    data = new_poll_data(kind="multiple", min_choices="0", max_choices="1")
    response = login(city_official).post("/admin/voting/poll/add/", data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["min_choices"] == ["At least one option must be chosen."]
    page = response.content.decode()
    row = page[page.index('class="form-row errors field-min_choices"') :][:600]
    assert "At least one option must be chosen." in row
