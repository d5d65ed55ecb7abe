"""Poll content in Korean and English, chosen by the request's ``Accept-Language`` (issue 18).

As an app developer relying on the contract: a phone in English gets each text in English where
officials wrote one and in Korean where they did not — field by field, option by option, the
category's name too; a phone in Korean, or sending no language, gets Korean. The list, the
detail and the results say the same, whatever order the two languages asked in and whatever the
caches held. As an official: the admin saves the English beside the Korean, and audits it.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import Verification
from audit.models import AuditEntry
from tests.district_codes import SAJIK
from tests.factories import (
    CategoryFactory,
    CitizenFactory,
    GroupFactory,
    OfficialFactory,
    PollFactory,
)
from tests.voting.test_admin import inline, split
from voting import live
from voting.models import Poll
from voting.services.lifecycle import duplicate_poll

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/polls/"
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko"}


@pytest.fixture(autouse=True)
def _restore_language():
    # Requests activate their language in this thread; the next test starts from the default.
    previous = translation.get_language()
    yield
    translation.activate(previous)


@pytest.fixture
def app(client_for):
    return client_for(CitizenFactory())


@pytest.fixture
def poll():
    """Translated in part: the title, one option's label and the other's description."""
    group = GroupFactory(name="청년", name_en="Youth")
    created = PollFactory(
        title="따릉이 심야 운영",
        title_en="Late-night Ttareungyi",
        description="새벽 2시까지 늘릴까요?",  # no English description
        category=CategoryFactory(slug="transport", name="교통", name_en="Transport"),
        options=["찬성", "반대"],
        groups=[group],
        results_visibility=Poll.ResultsVisibility.LIVE,
    )
    yes, no = created.options.order_by("position", "id")
    yes.label_en = "Yes"
    yes.save()
    no.description, no.description_en = "지금대로", "Keep as is"
    no.save()
    return created


def listed(client, poll, **headers) -> dict:
    response = client.get(LIST_URL, {"scope": "all"}, **headers)
    assert response.status_code == 200, response.content
    return next(item for item in response.json()["results"] if item["id"] == poll.pk)


def detail(client, poll, **headers) -> dict:
    response = client.get(f"/api/v1/polls/{poll.pk}/", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def results(client, poll, **headers) -> dict:
    response = client.get(f"/api/v1/polls/{poll.pk}/results/", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def texts(client, poll, **headers) -> dict:
    """What a reader sees of ``poll`` in the list, the detail and the results."""
    item, page, document = (
        listed(client, poll, **headers),
        detail(client, poll, **headers),
        results(client, poll, **headers),
    )
    return {
        "list_title": item["title"],
        "list_category": item["category"]["name"],
        "title": page["title"],
        "description": page["description"],
        "category": page["category"]["name"],
        "options": [(o["label"], o["description"]) for o in page["options"]],
        "groups": [g["name"] for g in page["audience"]["groups"]],
        "result_labels": [o["label"] for o in document["options"]],
    }


KOREAN_TEXTS = {
    "list_title": "따릉이 심야 운영",
    "list_category": "교통",
    "title": "따릉이 심야 운영",
    "description": "새벽 2시까지 늘릴까요?",
    "category": "교통",
    "options": [("찬성", ""), ("반대", "지금대로")],
    "groups": ["청년"],
    "result_labels": ["찬성", "반대"],
}
ENGLISH_TEXTS = {
    "list_title": "Late-night Ttareungyi",
    "list_category": "Transport",
    "title": "Late-night Ttareungyi",
    "description": "새벽 2시까지 늘릴까요?",  # not translated: the Korean, not a blank
    "category": "Transport",
    "options": [("Yes", ""), ("반대", "Keep as is")],  # per option, per field
    "groups": ["Youth"],
    "result_labels": ["Yes", "반대"],
}


# --- Which language each reader gets ------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "en-US,en;q=0.9,ko;q=0.5", "en-GB"])
def test_a_reader_of_english_gets_english_where_it_exists_and_korean_where_not(app, poll, language):
    assert texts(app, poll, HTTP_ACCEPT_LANGUAGE=language) == ENGLISH_TEXTS


@pytest.mark.parametrize("language", ["ko", "ko-KR", "fr", "ja,zh;q=0.8", None])
def test_korean_no_language_or_another_language_reads_korean(app, poll, language):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}

    assert texts(app, poll, **headers) == KOREAN_TEXTS


def test_a_poll_without_any_english_reads_korean_in_english(app):
    plain = PollFactory(
        title="버스 노선 개편",
        category=CategoryFactory(slug="welfare", name="복지", name_en=""),
        options=["가", "나"],
        results_visibility=Poll.ResultsVisibility.LIVE,
    )

    page = detail(app, plain, **ENGLISH)

    assert page["title"] == listed(app, plain, **ENGLISH)["title"] == "버스 노선 개편"
    assert page["category"]["name"] == "복지"
    assert [o["label"] for o in page["options"]] == ["가", "나"]
    assert [o["label"] for o in results(app, plain, **ENGLISH)["options"]] == ["가", "나"]


def test_english_made_of_spaces_counts_as_none(app):
    spaced = PollFactory(title="버스 노선 개편", title_en="   ")

    assert detail(app, spaced, **ENGLISH)["title"] == "버스 노선 개편"


def test_the_api_keeps_one_key_per_text(app, poll):
    """No ``title_en`` and such reach apps: one ``title``, in the reader's language. The answer
    says which language was asked for, and that it depends on it (for caches on the way)."""
    response = app.get(f"/api/v1/polls/{poll.pk}/", **ENGLISH)
    page = response.json()

    assert response["Content-Language"] == "en"
    assert "Accept-Language" in response["Vary"]
    assert not [key for key in page if key.endswith("_en")]
    assert set(page["options"][0]) == {"id", "label", "description", "image"}
    assert set(page["category"]) == {"slug", "name"}


# --- The caches keep the languages apart --------------------------------------------------------


@pytest.mark.parametrize("first", ["ko", "en"])
def test_a_cached_card_or_document_never_reaches_the_other_language(app, poll, first):
    """Each read warms the caches (cards, results) for its language; the other language, asked
    right after, gets its own — and again on the second round, from the warm caches."""
    order = [(KOREAN, KOREAN_TEXTS), (ENGLISH, ENGLISH_TEXTS)]
    if first == "en":
        order.reverse()

    for _round in range(2):
        for headers, expected in order:
            assert texts(app, poll, **headers) == expected


def test_editing_the_english_shows_at_once_in_english_and_leaves_korean_as_it_was(app, poll):
    texts(app, poll, **KOREAN)
    texts(app, poll, **ENGLISH)  # both languages cached

    poll.title_en = "Ttareungyi until 2 a.m."
    poll.description_en = "Should bikes run later?"
    poll.save()
    no = poll.options.get(label="반대")
    no.label_en = "No"
    no.save()
    category = poll.category
    category.name_en = "Transportation"
    category.save()

    assert texts(app, poll, **ENGLISH) == {
        **ENGLISH_TEXTS,
        "list_title": "Ttareungyi until 2 a.m.",
        "title": "Ttareungyi until 2 a.m.",
        "description": "Should bikes run later?",
        "list_category": "Transportation",
        "category": "Transportation",
        "options": [("Yes", ""), ("No", "Keep as is")],
        "result_labels": ["Yes", "No"],
    }
    assert texts(app, poll, **KOREAN) == KOREAN_TEXTS


def test_removing_the_english_brings_the_korean_back(app, poll):
    assert detail(app, poll, **ENGLISH)["title"] == "Late-night Ttareungyi"

    poll.title_en = ""
    poll.save()

    assert detail(app, poll, **ENGLISH)["title"] == "따릉이 심야 운영"


def _queries(client, url, params=None, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {}, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_english_costs_no_more_queries_than_korean(app, poll):
    """The English fields are columns of the rows the cards already read: a warm read is one
    query in either language (tests/voting/test_api_polls.py pins the Korean counts), a cold
    card costs the same in both."""
    url = f"/api/v1/polls/{poll.pk}/"
    for headers in (KOREAN, ENGLISH):
        _queries(app, LIST_URL, {"scope": "all"}, **headers)  # warms authentication and cards
    cold = {}
    for name, headers in (("ko", KOREAN), ("en", ENGLISH)):
        cold[name] = _queries(app, url, **headers)
        assert _queries(app, LIST_URL, {"scope": "all"}, **headers) == 1
        assert _queries(app, url, **headers) == 1

    assert cold["en"] == cold["ko"] == 1 + 5


# --- Where the content stays Korean --------------------------------------------------------------


def test_live_frames_are_korean_whoever_builds_them(poll):
    """Dashboards' frames are built once for every official watching (voting/live/snapshot.py):
    Korean, as the officials wrote the poll, even when a request in English builds one."""
    with translation.override("en"):
        frame = live.snapshot(poll.pk)

    assert frame["title"] == "따릉이 심야 운영"
    assert [option["label"] for option in frame["options"]] == ["찬성", "반대"]


# --- The officials' admin -----------------------------------------------------------------------


@pytest.fixture
def admin_client():
    client = Client(headers={"accept-language": "en"})
    client.force_login(OfficialFactory(role="official"))
    return client


def _form_errors(response) -> str:
    assert response.status_code == 200, response.status_code
    texts = [str(response.context["adminform"].form.errors)]
    for formset in response.context["inline_admin_formsets"]:
        texts += [str(formset.formset.non_form_errors()), str(formset.formset.errors)]
    return " ".join(texts)


def test_the_admin_form_saves_the_english_beside_the_korean_and_audits_it(admin_client, app):
    page = admin_client.get("/admin/voting/poll/add/")
    form = page.context["adminform"].form
    assert {"title_en", "description_en"} <= set(form.fields)
    assert not form.fields["title_en"].required
    option_form = page.context["inline_admin_formsets"][0].formset.forms[0]
    assert {"label_en", "description_en"} <= set(option_form.fields)

    opens = timezone.now() + timedelta(days=1)
    options = [
        {
            "label": "찬성",
            "label_en": "Yes",
            "description": "",
            "description_en": "",
            "position": "0",
        },
        {"label": "반대", "label_en": "", "description": "", "description_en": "", "position": "1"},
    ]
    data = {
        "title": "따릉이 대여소 확대",
        "title_en": "More Ttareungyi stations",
        "description": "자전거 대여소를 늘릴까요?",
        "description_en": "",  # optional: English readers get the Korean
        "category": "",
        "department": "교통정책과",
        "kind": "single",
        "min_choices": "1",
        "max_choices": "1",
        "score_min": "1",
        "score_max": "5",
        **split("opens_at", opens),
        **split("closes_at", opens + timedelta(days=14)),
        "districts": [SAJIK],
        "min_age": "",
        "max_age": "",
        "min_verification": str(Verification.PHONE),
        "results_visibility": Poll.ResultsVisibility.AFTER_CLOSE,
        **inline("options", [{**row, "image_alt": ""} for row in options]),
        **inline("images", []),
    }
    response = admin_client.post("/admin/voting/poll/add/", data)

    assert response.status_code == 302, _form_errors(response)
    poll = Poll.objects.get(title="따릉이 대여소 확대")
    assert (poll.title_en, poll.description_en) == ("More Ttareungyi stations", "")
    assert [(o.label, o.label_en) for o in poll.options.all()] == [("찬성", "Yes"), ("반대", "")]
    created = AuditEntry.objects.get(subject_type="poll", subject_id=poll.pk)
    assert created.changes["title_en"] == [None, "More Ttareungyi stations"]
    assert created.changes["options"][1] == ["0. 찬성 [en: Yes]", "1. 반대"]

    # Edited from the admin, the English title shows in the app at once, and is audited.
    Poll.objects.filter(pk=poll.pk).update(
        published=True, opens_at=timezone.now() - timedelta(hours=1)
    )
    poll.refresh_from_db()
    assert detail(app, poll, **ENGLISH)["title"] == "More Ttareungyi stations"
    yes, no = poll.options.all()
    data.update(
        {
            "title_en": "More bike stations",
            **split("opens_at", poll.opens_at),
            **inline(
                "options",
                [
                    {**row, "id": str(option.pk), "poll": str(poll.pk), "image_alt": ""}
                    for row, option in zip(options, (yes, no), strict=True)
                ],
                initial=2,
            ),
            "options-1-description_en": "Keep as is",
        }
    )
    response = admin_client.post(f"/admin/voting/poll/{poll.pk}/change/", data)

    assert response.status_code == 302, _form_errors(response)
    page = detail(app, poll, **ENGLISH)
    assert page["title"] == "More bike stations"
    assert (page["options"][1]["label"], page["options"][1]["description"]) == (
        "반대",
        "Keep as is",
    )
    assert detail(app, poll, **KOREAN)["title"] == "따릉이 대여소 확대"
    edit = AuditEntry.objects.get(
        subject_type="poll", subject_id=poll.pk, action=AuditEntry.Action.EDIT
    )
    assert edit.changes["title_en"] == ["More Ttareungyi stations", "More bike stations"]
    assert "title" not in edit.changes
    assert edit.changes["options"][1] == ["0. 찬성 [en: Yes]", "1. 반대 — [en: Keep as is]"]


def test_after_the_first_ballot_the_english_labels_are_frozen_with_the_korean(admin_client):
    """Readers of English voted for the English label as others for the Korean one."""
    from voting.casting import cast_ballot

    poll = PollFactory(title_en="Bikes", options=["찬성", "반대"])
    yes = poll.options.get(label="찬성")
    cast_ballot(poll=poll, voter=CitizenFactory(district_id=SAJIK), option_ids=[yes.pk])

    page = admin_client.get(f"/admin/voting/poll/{poll.pk}/change/")

    option_form = page.context["inline_admin_formsets"][0].formset.forms[0]
    assert "label_en" not in option_form.fields
    assert "description_en" in option_form.fields  # an explanation may still be added
    assert "title_en" in page.context["adminform"].form.fields  # as the Korean title may


def test_the_admin_results_and_csv_keep_the_korean_labels(admin_client, poll):
    """The results page and its CSV are the city's record, beside the poll's Korean title,
    whatever language the official's browser asks for."""
    csv_text = admin_client.get(f"/admin/voting/poll/{poll.pk}/results/csv/").content.decode()
    page = admin_client.get(f"/admin/voting/poll/{poll.pk}/results/")

    assert "찬성" in csv_text and "Yes" not in csv_text
    labels = [row[0] for row in page.context["tables"][0].rows]
    assert labels == ["찬성", "반대"]


def test_a_duplicated_poll_keeps_its_english(poll):
    copy = duplicate_poll(poll=poll, by=None)

    assert copy.title_en == "Late-night Ttareungyi"
    assert [(o.label, o.label_en, o.description_en) for o in copy.options.all()] == [
        ("찬성", "Yes", ""),
        ("반대", "", "Keep as is"),
    ]


def test_the_demo_polls_read_in_english(app, settings):
    """``make run``'s demo: a phone in English sees English titles and options."""
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    items = app.get(LIST_URL, {"scope": "all"}, **ENGLISH).json()["results"]
    bikes = next(item for item in items if item["title"].startswith("Should Ttareungyi"))

    page = detail(app, Poll(pk=bikes["id"]), **ENGLISH)

    assert bikes["category"]["name"] == "Transport"
    assert [o["label"] for o in page["options"]] == ["Yes", "No", "Not sure"]
    assert detail(app, Poll(pk=bikes["id"]), **KOREAN)["title"].startswith("따릉이")


def test_a_receipt_names_its_poll_in_the_readers_language(app, poll):
    from districts.models import GroupMembership
    from voting import casting

    voter = CitizenFactory()
    GroupMembership.objects.create(group=poll.groups.get(), user=voter)  # the poll's audience
    receipt = casting.cast_ballot(
        poll=poll, voter=voter, option_ids=[poll.options.first().pk]
    ).body["receipt"]
    url = f"/api/v1/receipts/{receipt}/"
    assert app.get(url, **ENGLISH).json()["poll_title"] == "Late-night Ttareungyi"
    assert app.get(url, **KOREAN).json()["poll_title"] == "따릉이 심야 운영"
