"""The poll's phone preview, and publishing and closing it from pages that confirm first
(voting/admin/publishing.py, voting/admin/phone.py).

Through real admin HTTP requests as officials who passed the second factor (tests/conftest.py).
Texts are asserted in English (the source language): the Korean catalogue may translate them.
"""

import re
from datetime import timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from accounts.models import Verification
from audit.models import AuditEntry
from districts.models import Group
from notifications.models import Kind, OutboxEvent
from tests.district_codes import CHEONGUN, GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import (
    CategoryFactory,
    CitizenFactory,
    GroupFactory,
    OfficialFactory,
    PollFactory,
    PollImageFactory,
)
from tests.voting.conftest import login
from voting.models import Poll

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

SEOUL = ZoneInfo("Asia/Seoul")
SCRIPT = '<script>alert("pwned")</script>'


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def url(poll: Poll, step: str) -> str:
    return f"/admin/voting/poll/{poll.pk}/{step}/"


def element(html: str, element_id: str) -> str:
    """The text inside the element with ``element_id`` (tags dropped, entities decoded)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(p|h2|dd|div|ol|ul)>', html, re.S)
    assert match, f"#{element_id} is missing"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def ko(text: str, **values) -> str:
    """``text`` as the phone shows it: in Korean, as the catalogue has it (or not yet)."""
    with translation.override("ko"):
        translated = gettext(text)
    return translated % values if values else translated


def messages_of(response) -> list[str]:
    """The messages waiting for the next page (the redirects are not followed)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def entries(poll: Poll) -> list[str]:
    return list(
        AuditEntry.objects.filter(subject_type="poll", subject_id=poll.pk).values_list(
            "action", flat=True
        )
    )


def announcements(poll: Poll) -> int:
    return OutboxEvent.objects.filter(kind=Kind.POLL_OPENED, subject_id=poll.pk).count()


@pytest.fixture
def illustrated():
    """A published poll with Markdown (and a script) in its description, a cover, a gallery
    image and an option with its own image, in Korean and partly in English."""
    poll = PollFactory(
        title="한강공원 야간 개방",
        title_en="Han River parks at night",
        description=f"**자정까지** 개방할까요?\n\n- 여름만\n- [안내](https://seoul.go.kr)\n\n{SCRIPT}",
        category=CategoryFactory(name="환경", name_en="Environment"),
        options=["찬성", "반대"],
    )
    PollImageFactory(poll=poll, is_cover=True, image="polls/2025/01/cover.png", alt="밤의 한강")
    PollImageFactory(poll=poll, image="polls/2025/01/map.png", caption="지도", alt="공원 지도")
    option = poll.options.get(label="찬성")
    option.image = "polls/2025/01/yes.png"
    option.image_alt = "불 켜진 산책로"
    option.save()
    return poll


# --- The preview --------------------------------------------------------------------------------


def test_preview_shows_what_the_api_sends(illustrated, city_official, client_for):
    body = client_for(CitizenFactory()).get(f"/api/v1/polls/{illustrated.pk}/").json()

    response = login(city_official).get(url(illustrated, "preview"))

    assert response.status_code == 200
    html = response.content.decode()
    assert element(html, "phone-title") == body["title"] == "한강공원 야간 개방"
    labels = [option["label"] for option in body["options"]]
    assert element(html, "phone-options").split() == labels
    for image in [*body["images"], body["options"][0]["image"]]:
        assert f'src="{image["url"]}" alt="{image["alt"]}"' in html
    assert "환경" in html
    # The Markdown the API sends, rendered as the app renders it; its script is only text.
    assert "<strong>자정까지</strong>" in html
    assert '<a href="https://seoul.go.kr" rel="nofollow noopener noreferrer"' in html
    assert SCRIPT not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in element_html(
        html, "phone-description"
    )
    assert element(html, "phone-instructions") == ko("Choose one option.")
    with translation.override("ko"):  # the phone speaks Korean unless asked for English
        closes = date_format(illustrated.closes_at.astimezone(SEOUL), "DATETIME_FORMAT")
    assert element(html, "phone-closes") == f"{closes} ({ko('Seoul time')})"


def element_html(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"#{element_id} is missing"
    return match.group(1)


def test_preview_toggles_to_the_english_the_api_sends_readers_of_english(
    illustrated, city_official
):
    client = login(city_official)

    korean = client.get(url(illustrated, "preview")).content.decode()
    english = client.get(url(illustrated, "preview"), {"lang": "en"}).content.decode()

    assert 'href="?lang=en"' in korean and 'lang="ko" tabindex="0"' in korean
    assert element(english, "phone-title") == "Han River parks at night"
    assert "Environment" in english
    # The description has no English: readers of English read the Korean, as the API sends it.
    assert "<strong>자정까지</strong>" in english
    assert client.get(url(illustrated, "preview"), {"lang": "fr"}).status_code == 400


def test_preview_of_a_draft_that_citizens_cannot_see_yet(city_official, client_for):
    draft = PollFactory(published=False, title="초안 투표", kind="multiple", max_choices=3)

    response = login(city_official).get(url(draft, "preview"))

    assert response.status_code == 200
    assert element(response.content.decode(), "phone-title") == "초안 투표"
    assert element(response.content.decode(), "phone-instructions") == ko(
        "Choose up to %(max)d options.", max=3
    )
    assert client_for(CitizenFactory()).get(f"/api/v1/polls/{draft.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("question", "instructions"),
    [
        ({"kind": "multiple", "min_choices": 2, "max_choices": 2}, "Choose 2 options."),
        (
            {"kind": "ranked", "min_choices": 1, "max_choices": 3},
            "Rank up to 3 options, most preferred first.",
        ),
        (
            {"kind": "score", "score_min": 0, "score_max": 10, "score_abstain": False},
            "Score every option from 0 to 10.",
        ),
    ],
)
def test_preview_tells_what_each_kind_of_question_asks(question, instructions, city_official):
    poll = PollFactory(published=False, options=["가", "나", "다"], **question)

    # In English: the phone's own words are the source texts there.
    html = login(city_official).get(url(poll, "preview"), {"lang": "en"}).content.decode()

    assert element(html, "phone-instructions") == instructions


def test_preview_warns_of_images_without_alt_text(city_official):
    poll = PollFactory(published=False)
    PollImageFactory(poll=poll, is_cover=True, alt="")

    html = login(city_official).get(url(poll, "preview")).content.decode()

    assert "1 image has no alt text" in element(html, "phone-missing-alt")


def test_preview_costs_a_fixed_number_of_queries(
    illustrated, city_official, django_assert_num_queries
):
    client = login(city_official)
    for n in range(5):
        PollImageFactory(poll=illustrated, image=f"polls/2025/01/more-{n}.png", position=n + 2)
        illustrated.options.create(label=f"선택지 {n}", position=n + 2)

    # Session and user; the poll (scoped) and the official's permissions (2); the API card's
    # poll with its category and outcome, options, images, districts and groups (5); the
    # session saved (a savepoint, the update, its release). More images or options: no more.
    with django_assert_num_queries(13):
        assert client.get(url(illustrated, "preview")).status_code == 200


def test_preview_accepts_no_post(illustrated, city_official):
    assert login(city_official).post(url(illustrated, "preview")).status_code == 405


# --- Publishing ---------------------------------------------------------------------------------


@pytest.fixture
def jongno_draft():
    for _ in range(3):
        CitizenFactory(district_id=SAJIK)  # phone-verified
    CitizenFactory(district_id=CHEONGUN, verification=Verification.UNVERIFIED)
    CitizenFactory(district_id=SINSA)  # another gu
    return PollFactory(published=False, districts=[JONGNO], title="종로 초안")


def test_get_publish_states_audience_and_notifications_and_changes_nothing(
    jongno_draft, jongno_official
):
    response = login(jongno_official).get(url(jongno_draft, "publish"))

    assert response.status_code == 200
    html = response.content.decode()
    confirmation = element(html, "publish-confirmation")
    assert "Reaches 4 registered citizens (3 phone-verified)." in confirmation
    assert "It opens as soon as you publish it" in confirmation
    notifications = element(html, "publish-notifications")
    assert "Notifications go out now: everyone in the audience who may vote" in notifications
    assert "A new poll for you" in notifications
    assert 'id="confirm-publish"' in html and "csrfmiddlewaretoken" in html
    assert element(html, "phone-title") == "종로 초안"
    jongno_draft.refresh_from_db()
    assert not jongno_draft.published
    assert entries(jongno_draft) == [] and announcements(jongno_draft) == 0


def test_a_poll_opening_later_is_announced_when_it_opens(city_official):
    opens = timezone.now() + timedelta(days=2)
    draft = PollFactory(published=False, opens_at=opens, closes_at=opens + timedelta(days=7))
    client = login(city_official)

    html = client.get(url(draft, "publish")).content.decode()
    response = client.post(url(draft, "publish"))

    when = date_format(opens.astimezone(SEOUL), "DATETIME_FORMAT")
    assert f"Notifications go out when it opens: at {when}" in element(
        html, "publish-notifications"
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.published and announcements(draft) == 0  # the clock announces it later


def test_post_publishes_once_and_notifies_once(jongno_draft, jongno_official):
    client = login(jongno_official)

    first = client.post(url(jongno_draft, "publish"))
    second = client.post(url(jongno_draft, "publish"))

    assert first.status_code == second.status_code == 302
    assert first["Location"] == f"/admin/voting/poll/{jongno_draft.pk}/change/"
    assert messages_of(first) == ["“종로 초안”: published."]
    assert messages_of(second)[-1] == "“종로 초안”: already published."  # nothing sent again
    jongno_draft.refresh_from_db()
    assert jongno_draft.published
    assert entries(jongno_draft) == [AuditEntry.Action.PUBLISH]
    assert announcements(jongno_draft) == 1
    page = client.get(url(jongno_draft, "publish")).content.decode()
    assert "published already" in element(page, "publish-done")
    assert 'id="confirm-publish"' not in page


def test_a_refusal_of_the_service_is_an_error_message_not_a_500(city_official):
    lonely = PollFactory(published=False, title="선택지 하나", options=["혼자"])

    response = login(city_official).post(url(lonely, "publish"))

    assert response.status_code == 302 and response["Location"] == url(lonely, "publish")
    assert messages_of(response) == [
        "“선택지 하나”: A poll needs at least two options before it is published."
    ]
    lonely.refresh_from_db()
    assert not lonely.published and entries(lonely) == []


def test_the_audience_over_a_managed_group_stays_hidden_without_phone_permission(city_official):
    managed = GroupFactory(kind=Group.Kind.MANAGED)
    draft = PollFactory(published=False, groups=[managed])

    html = login(city_official).get(url(draft, "publish")).content.decode()
    allowed = OfficialFactory(role="official", perms=["accounts.view_phone_number"])
    shown = login(allowed).get(url(draft, "publish")).content.decode()

    assert "the estimate is shown to officials who may see phone numbers" in element(
        html, "publish-confirmation"
    )
    assert "Reaches" not in html
    assert "Reaches 0 registered citizens" in element(shown, "publish-confirmation")


# --- Who may: scoping and permissions (adversarial) ---------------------------------------------


@pytest.mark.parametrize("step", ["preview", "publish", "close"])
def test_another_gus_official_gets_404_and_changes_nothing(step, jongno_official):
    outside = PollFactory(published=False, districts=[GANGNAM], title="강남 초안")
    running = PollFactory(districts=[SINSA], title="강남 진행")
    client = login(jongno_official)

    for poll in (outside, running):
        assert client.get(url(poll, step)).status_code == 404
        response = client.post(url(poll, step))
        assert response.status_code == (405 if step == "preview" else 404)
        assert "강남" not in response.content.decode()

    outside.refresh_from_db()
    running.refresh_from_db()
    assert not outside.published and running.status == Poll.Status.OPEN
    assert not AuditEntry.objects.exists() and not OutboxEvent.objects.exists()


@pytest.mark.parametrize("step", ["preview", "publish", "close"])
def test_a_citizen_is_sent_to_the_login(step):
    draft = PollFactory(published=False)
    client = Client()
    client.force_login(CitizenFactory())

    for response in (client.get(url(draft, step)), client.post(url(draft, step))):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    draft.refresh_from_db()
    assert not draft.published


def test_an_official_who_may_only_view_polls_may_preview_but_not_publish_or_close():
    viewer = login(OfficialFactory(perms=["voting.view_poll"]))
    draft = PollFactory(published=False)
    running = PollFactory()

    assert viewer.get(url(draft, "preview")).status_code == 200
    assert viewer.get(url(draft, "publish")).status_code == 403
    assert viewer.post(url(draft, "publish")).status_code == 403
    assert viewer.get(url(running, "close")).status_code == 403
    assert viewer.post(url(running, "close")).status_code == 403
    preview = viewer.get(url(draft, "preview")).content.decode()
    assert 'id="poll-publish"' not in preview
    draft.refresh_from_db()
    running.refresh_from_db()
    assert not draft.published and running.status == Poll.Status.OPEN
    assert not AuditEntry.objects.exists()


# --- Closing ------------------------------------------------------------------------------------


def test_get_close_states_what_closing_does_and_changes_nothing(city_official):
    running = PollFactory(title="진행 중")

    html = login(city_official).get(url(running, "close")).content.decode()

    confirmation = element(html, "close-confirmation")
    closes = date_format(running.closes_at.astimezone(SEOUL), "DATETIME_FORMAT")
    assert f"Closing now stops ballots at once, instead of at {closes}" in confirmation
    assert "The count then becomes final: 0 ballots are counted so far" in confirmation
    assert 'id="confirm-close"' in html
    running.refresh_from_db()
    assert running.status == Poll.Status.OPEN and entries(running) == []


def test_post_close_closes_once(city_official):
    running = PollFactory(title="진행 중")
    client = login(city_official)

    first = client.post(url(running, "close"))
    second = client.post(url(running, "close"))

    assert first["Location"] == f"/admin/voting/poll/{running.pk}/change/"
    assert messages_of(first) == ["“진행 중”: closed: no more ballots are accepted."]
    assert second.status_code == 302 and second["Location"] == url(running, "close")
    assert (
        messages_of(second)[-1]
        == "“진행 중”: This poll is closed; a closed poll is never reopened."
    )
    running.refresh_from_db()
    assert running.status == Poll.Status.CLOSED and running.closed_early_at is not None
    assert entries(running) == [AuditEntry.Action.CLOSE]
    page = client.get(url(running, "close")).content.decode()
    assert "nothing to close" in element(page, "close-done")
    assert 'id="confirm-close"' not in page


def test_a_draft_has_nothing_to_close(city_official):
    draft = PollFactory(published=False)

    html = login(city_official).get(url(draft, "close")).content.decode()

    assert "This poll is not open (draft)" in element(html, "close-done")
    assert 'id="confirm-close"' not in html


# --- The change form's buttons ------------------------------------------------------------------


def test_the_change_form_offers_preview_publish_and_close_as_the_status_allows(city_official):
    draft = PollFactory(published=False)
    running = PollFactory()
    client = login(city_official)

    draft_page = client.get(f"/admin/voting/poll/{draft.pk}/change/").content.decode()
    open_page = client.get(f"/admin/voting/poll/{running.pk}/change/").content.decode()

    assert f'id="poll-preview" href="{url(draft, "preview")}"' in draft_page
    assert f'id="poll-publish" href="{url(draft, "publish")}"' in draft_page
    assert 'id="poll-close"' not in draft_page
    assert f'id="poll-close" href="{url(running, "close")}"' in open_page
    assert 'id="poll-publish"' not in open_page
