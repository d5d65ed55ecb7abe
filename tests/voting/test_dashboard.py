"""The officials' dashboard pages: who may open them, what they contain, their static files."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from tests.ballot_box import cast_many, count_now
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from voting import casting, services

pytestmark = pytest.mark.django_db


def _logged_in(client, user):
    client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")
    return client


def _json_script(html: str, element_id: str) -> str:
    start = html.index(f'<script id="{element_id}" type="application/json">')
    start = html.index(">", start) + 1
    return html[start : html.index("</script>", start)]


def _url(poll) -> str:
    return reverse("voting_dashboard:poll", args=[poll.pk])


def _snapshot_of(response, poll) -> dict:
    assert response.status_code == 200
    return json.loads(_json_script(response.content.decode(), "dashboard-snapshots"))[str(poll.pk)]


def test_url_names_for_the_admin_to_link_to():
    assert reverse("voting_dashboard:poll", args=[7]) == "/dashboard/polls/7/"
    assert reverse("voting_dashboard:overview") == "/dashboard/"


def test_anonymous_is_sent_to_the_admin_login(client):
    poll = PollFactory()
    response = client.get(_url(poll))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert f"next=/dashboard/polls/{poll.pk}/" in response["Location"]

    response = client.get(reverse("voting_dashboard:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_citizen_is_refused(client):
    poll = PollFactory()
    _logged_in(client, CitizenFactory())
    response = client.get(_url(poll))
    # Not an official's session: sent to the officials' login, as the admin does.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert b"/ws/polls/" not in response.content


def test_staff_without_the_official_role_is_refused(client):
    poll = PollFactory()
    _logged_in(client, OfficialFactory())
    assert client.get(_url(poll)).status_code == 403
    assert client.get(reverse("voting_dashboard:overview")).status_code == 403


def test_official_of_another_gu_does_not_get_the_page(client):
    poll = PollFactory(districts=[JONGNO])
    _logged_in(client, OfficialFactory(role="official", gu=GANGNAM))
    response = client.get(_url(poll))
    assert response.status_code == 404  # another gu's poll does not exist for them
    assert b"/ws/polls/" not in response.content


def test_unknown_poll_is_404(client):
    _logged_in(client, OfficialFactory(role="official"))
    assert client.get(reverse("voting_dashboard:poll", args=[999999])).status_code == 404


def test_official_in_scope_gets_the_live_page(client):
    poll = PollFactory(districts=[SAJIK], options=["찬성", "반대"])
    voter = CitizenFactory(district_id=SAJIK, birth_year=1987, gender="female")
    casting.cast_ballot(poll=poll, voter=voter, option_ids=[poll.options.first().pk])
    _logged_in(client, OfficialFactory(role="official", gu=JONGNO))

    response = client.get(_url(poll))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-ws="/ws/polls/{poll.pk}/"' in html
    assert static("voting/dashboard.js") in html
    assert static("voting/dashboard.css") in html
    assert poll.title in html
    # No third-party origin: every script and stylesheet comes from this site.
    assert "https://" not in html and "http://" not in html
    # The snapshot the script draws before the socket opens, and the UI strings it uses. One
    # sealed ballot is not counted: no total, and the reason why for the page to show.
    snapshot = json.loads(_json_script(html, "dashboard-snapshots"))[str(poll.pk)]
    assert (snapshot["type"], snapshot["poll"], snapshot["total"]) == ("tally", poll.pk, None)
    assert snapshot["withheld"] is True and snapshot["note"]
    assert [o["votes"] for o in snapshot["options"]] == [None, None]
    assert 'data-field="note"' in html
    config = json.loads(_json_script(html, "dashboard-config"))
    assert config["polls"] == {str(poll.pk): {"ws": f"/ws/polls/{poll.pk}/"}}
    assert set(config["strings"]) >= {"status", "reconnecting", "time_left", "participants"}
    # A text alternative for the chart.
    assert 'class="visually-hidden" data-field="chart-table"' in html


def test_the_page_shows_the_counted_total_once_a_batch_is_counted(client):
    """2k ballots: the counter counts the oldest k, and the page's snapshot carries them."""
    poll = PollFactory(districts=[SAJIK], options=["찬성", "반대"])
    yes, no = poll.options.all()
    k = settings.BALLOT_BATCH_MIN
    cast_many(poll, 2 * k, lambda i: [yes.pk] if i % 2 else [no.pk], district_id=SAJIK)
    _logged_in(client, OfficialFactory(role="official", gu=JONGNO))

    before = _snapshot_of(client.get(_url(poll)), poll)
    assert count_now() == k
    after = _snapshot_of(client.get(_url(poll)), poll)

    assert (before["total"], before["withheld"]) == (None, True)
    assert (after["total"], after["withheld"], after["note"]) == (k, False, None)
    assert sum(o["votes"] for o in after["options"]) == k
    # Breakdowns appear at the close.
    assert after["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}


def test_an_english_page_says_in_english_why_a_total_is_missing(client):
    """The page follows the request's language (below): so does the one sentence that says why
    there is no number yet."""
    poll = PollFactory()
    _logged_in(client, OfficialFactory(role="official"))

    k = settings.BALLOT_BATCH_MIN
    english = client.get(_url(poll), HTTP_ACCEPT_LANGUAGE="en").context["config"]["strings"]
    korean = client.get(_url(poll), HTTP_ACCEPT_LANGUAGE="ko").context["config"]["strings"]

    # The script fills in k from the live message (dashboard.js), as Django would here.
    assert (english["withheld"] % {"k": k}).startswith(f"Fewer than {k} ballots counted")
    assert (korean["withheld"] % {"k": k}).startswith(f"집계된 표가 {k}표 미만입니다")


def test_city_wide_official_sees_any_poll(client):
    poll = PollFactory(districts=[GANGNAM])
    _logged_in(client, OfficialFactory(role="official"))
    assert client.get(_url(poll)).status_code == 200


def test_page_follows_the_request_language(client):
    poll = PollFactory()
    _logged_in(client, OfficialFactory(role="official"))

    english = client.get(_url(poll), HTTP_ACCEPT_LANGUAGE="en")
    korean = client.get(_url(poll), HTTP_ACCEPT_LANGUAGE="ko")

    assert '<html lang="en">' in english.content.decode()
    assert '<html lang="ko">' in korean.content.decode()
    assert english.context["config"]["strings"]["lang"] == "en"
    assert english.context["config"]["strings"]["status"]["open"] == "open"
    assert korean.context["config"]["strings"]["status"]["open"] == "진행 중"
    assert korean.context["config"]["gu_names"][JONGNO] == "종로구"
    assert english.context["config"]["gu_names"][JONGNO].startswith("Jongno")


def test_overview_lists_only_open_polls_in_scope(client):
    now = timezone.now()
    mine = PollFactory(districts=[JONGNO], title="종로 열린 투표")
    mine_in_a_dong = PollFactory(districts=[SAJIK], title="사직동 열린 투표")
    PollFactory(districts=[GANGNAM], title="강남 투표")
    PollFactory(title="서울 전체 투표")  # city-wide: not a gu official's
    PollFactory(
        districts=[JONGNO],
        title="종로 종료 투표",
        opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(days=1),
    )
    PollFactory(
        districts=[JONGNO],
        title="종로 예정 투표",
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=3),
    )
    PollFactory(districts=[JONGNO], title="종로 초안", published=False)
    _logged_in(client, OfficialFactory(role="official", gu=JONGNO))

    response = client.get(reverse("voting_dashboard:overview"))

    assert response.status_code == 200
    assert {p.pk for p in response.context["polls"]} == {mine.pk, mine_in_a_dong.pk}
    html = response.content.decode()
    for poll in (mine, mine_in_a_dong):
        assert f'data-ws="/ws/polls/{poll.pk}/"' in html
        assert f'href="{_url(poll)}"' in html
    for title in ("강남 투표", "서울 전체 투표", "종로 종료 투표", "종로 예정 투표", "종로 초안"):
        assert title not in html
    assert static("voting/dashboard.js") in html


def test_overview_of_a_city_wide_official_has_every_open_poll(client):
    polls = [PollFactory(districts=[JONGNO]), PollFactory(districts=[GANGNAM]), PollFactory()]
    _logged_in(client, OfficialFactory(role="official"))
    response = client.get(reverse("voting_dashboard:overview"))
    assert {p.pk for p in response.context["polls"]} == {p.pk for p in polls}


def test_overview_without_open_polls_says_so(client):
    _logged_in(client, OfficialFactory(role="official", gu=JONGNO))
    response = client.get(reverse("voting_dashboard:overview"))
    assert response.status_code == 200
    assert list(response.context["polls"]) == []
    assert b"/ws/polls/" not in response.content


def test_the_overview_can_tell_when_the_set_of_open_polls_changes(client):
    """A poll opening (by the clock or by publication) after the page loaded must appear: the
    page knows where to ask and when the next one opens."""
    now = timezone.now()
    open_now = PollFactory(districts=[JONGNO])
    PollFactory(districts=[GANGNAM])  # another gu's
    soon = PollFactory(
        districts=[SAJIK], opens_at=now + timedelta(hours=2), closes_at=now + timedelta(days=2)
    )
    PollFactory(districts=[GANGNAM], opens_at=now + timedelta(hours=1))  # not in scope
    official = OfficialFactory(role="official", gu=JONGNO)
    _logged_in(client, official)

    page = client.get(reverse("voting_dashboard:overview"))
    config = json.loads(_json_script(page.content.decode(), "dashboard-config"))
    assert config["poll_list_url"] == reverse("voting_dashboard:open-polls")
    assert config["next_opening_at"] == soon.opens_at.isoformat()
    assert client.get(config["poll_list_url"]).json() == {"polls": [open_now.pk]}

    services.publish_poll(poll=PollFactory(districts=[JONGNO], published=False), by=official)
    assert len(client.get(config["poll_list_url"]).json()["polls"]) == 2


def test_the_open_polls_check_is_for_officials_only(client):
    _logged_in(client, OfficialFactory())  # staff without the role
    assert client.get(reverse("voting_dashboard:open-polls")).status_code == 403
    client.logout()
    assert client.get(reverse("voting_dashboard:open-polls")).status_code == 302


def test_the_script_and_stylesheet_are_found_and_served(client):
    for name in ("voting/dashboard.js", "voting/dashboard.css"):
        path = finders.find(name)
        assert path, f"{name} is not found by the static finders"
    # Through the middleware that serves them under daphne (WhiteNoise, finders in DEBUG).
    if settings.WHITENOISE_USE_FINDERS:
        response = client.get(static("voting/dashboard.js"))
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"new WebSocket(" in body
        assert b'"refresh"' in body
