"""The venue's screen: only the poll's officials open it; it shows the poll, the place, the window
and a QR code of the current token, which its JSON endpoint renews every step."""

from datetime import timedelta

import pytest
import segno
from django.utils import timezone

from onsite import tokens, views
from tests.district_codes import GANGNAM, JONGNO
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from tests.onsite.support import code_url, make_session, screen_url, token_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

SCREEN_PERMS = ["voting.view_onsitesession"]


@pytest.fixture
def poll():
    return PollFactory(title="종로 청계천 보행로 확대", districts=[JONGNO])


@pytest.fixture
def session(poll):
    return make_session(poll, place="종로구청 대강당")


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def jongno_official(client):
    return signed_in(client, OfficialFactory(role="official", gu=JONGNO, perms=SCREEN_PERMS))


def svg_of(link: str) -> str:
    """The SVG the screen draws for ``link`` (the same call as onsite/views.py)."""
    return views.qr_svg(link)


def test_the_polls_official_sees_the_poll_the_place_the_window_and_the_current_code(
    session, jongno_official
):
    response = jongno_official.get(screen_url(session))

    assert response.status_code == 200
    page = response.content.decode()
    assert "종로 청계천 보행로 확대" in page
    assert "종로구청 대강당" in page
    for moment in (session.starts_at, session.ends_at):
        assert f'datetime="{timezone.localtime(moment).isoformat()}"' in page
    link = f"http://testserver/onsite/t/{token_now(session)}"
    assert svg_of(link) in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_code_endpoint_gives_a_new_code_each_step(session, clock, jongno_official):
    first = jongno_official.get(code_url(session)).json()
    clock.advance(tokens.step_seconds())
    second = jongno_official.get(code_url(session)).json()

    assert first["state"] == second["state"] == "open"
    assert second["step"] == first["step"] + 1
    assert first["link"] != second["link"]
    assert first["svg"] != second["svg"]
    assert second["link"] == f"http://testserver/onsite/t/{token_now(session)}"
    assert second["svg"] == svg_of(second["link"])
    assert 0 < first["changes_in_ms"] <= tokens.step_seconds() * 1000
    assert first["valid_for_ms"] == first["changes_in_ms"] + tokens.step_seconds() * 1000
    assert first["refresh_in_ms"] <= first["changes_in_ms"]


def test_the_code_encodes_the_configured_public_host(session, settings, jongno_official):
    settings.ONSITE_LINK_BASE = "https://vote.seoul.go.kr/"

    body = jongno_official.get(code_url(session)).json()

    assert body["link"] == f"https://vote.seoul.go.kr/onsite/t/{token_now(session)}"
    assert segno.make(body["link"], error="m").designator  # a link segno encodes as a QR code


def test_before_and_after_the_window_the_screen_shows_no_code(poll, jongno_official):
    upcoming = make_session(poll, starts_in=timedelta(hours=1))
    ended = make_session(poll, starts_in=timedelta(hours=-5), lasts=timedelta(hours=1))

    before = jongno_official.get(code_url(upcoming)).json()
    after = jongno_official.get(code_url(ended)).json()
    page = jongno_official.get(screen_url(upcoming)).content.decode()

    assert (before["state"], before["svg"], before["link"]) == ("upcoming", None, None)
    assert (after["state"], after["svg"]) == ("ended", None)
    assert "segno" not in page  # no QR code drawn


def test_a_citizen_is_sent_to_the_officials_login(session, client):
    signed_in(client, CitizenFactory())

    for url in (screen_url(session), code_url(session)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_an_official_of_another_gu_finds_no_such_screen(session, client):
    signed_in(client, OfficialFactory(role="official", gu=GANGNAM, perms=SCREEN_PERMS))

    assert client.get(screen_url(session)).status_code == 404
    assert client.get(code_url(session)).status_code == 404


def test_an_official_without_the_permission_is_refused(session, client):
    # Staff in no role: the officials' role grants the sessions' permissions (accounts/roles.py).
    official = OfficialFactory(role="official", gu=JONGNO)
    official.groups.clear()
    signed_in(client, official)

    assert client.get(screen_url(session)).status_code == 403
    assert client.get(code_url(session)).status_code == 403


def test_a_city_wide_official_opens_any_screen(session, client):
    signed_in(client, OfficialFactory(role="official", perms=SCREEN_PERMS))

    assert client.get(screen_url(session)).status_code == 200


def test_a_codes_link_opened_without_the_app_explains_itself(session, client):
    response = client.get(f"/onsite/t/{token_now(session)}", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "mVoting" in response.content.decode()
