"""The venue's screen in a real browser (headless Chromium against a real daphne server), at
1366×768, a projector's usual resolution: the QR code fills the height, and it changes after the
step without a reload; a phone that scans it casts a ballot. Screenshots go to
``ONSITE_SCREENSHOTS_DIR`` (default /tmp/onsite-screenshots/) for a person to look at. Needs
PostgreSQL and Redis, like the dashboard's browser test (tests/voting/test_browser.py).
"""

import json
import os
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from onsite import tokens
from tests.factories import OfficialFactory, PollFactory
from tests.onsite.support import make_session
from tests.reliability.servers import running_servers, session_cookie, voters
from tests.voting.test_browser import BROWSER_TEST, chromium

pytestmark = BROWSER_TEST

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

SCREEN = {"width": 1366, "height": 768}
TIMEOUT_MS = 15_000


def screenshots_dir() -> Path:
    # Never into the repository: a directory of the caller's choosing, or /tmp.
    directory = Path(os.environ.get("ONSITE_SCREENSHOTS_DIR") or "/tmp/onsite-screenshots/")  # noqa: S108
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def server(transactional_db):
    with running_servers("onsite-browser") as (server,):
        yield server


def scan_and_vote(base_url: str, *, link: str, option_id: int, voter_token: str) -> dict:
    """What the app does with a scanned link (its last part is the token), from a phone inside
    the venue's circle."""
    body = {
        "token": link.rsplit("/", 1)[1],
        "options": [option_id],
        "location": {"latitude": 37.5665, "longitude": 126.9780},
    }
    request = urllib.request.Request(  # noqa: S310 (plain http to the local test server)
        f"{base_url}/api/v1/onsite/ballots/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Session-Token": voter_token},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201
        return json.load(response)


def test_the_screen_shows_a_qr_code_that_changes_each_step(server):
    # All data first: Playwright's sync API runs an event loop in this thread, where Django
    # refuses database work.
    poll = PollFactory(title="서울광장 주말 차 없는 거리 운영", options=["찬성", "반대"])
    yes = poll.options.order_by("position").first()
    session = make_session(
        poll, place="서울시청 시민청 (지하 1층)", circle=(37.5663, 126.9779, 150)
    )
    long_title = PollFactory(
        title=(
            "2027년 서울시 생활권 공원 확충 계획 중 우선 조성 대상지 선정을 위한 시민 의견 조사: "
            "자치구별 후보지 가운데 가장 먼저 조성되어야 할 곳을 골라 주세요 (최대 200자까지 "
            "쓸 수 있는 제목이 화면을 넘치지 않는지 확인합니다)"
        )
    )
    upcoming = make_session(long_title, place="광화문광장 놀이마당", starts_in=timedelta(hours=2))
    official = OfficialFactory(role="official", perms=["voting.view_onsitesession"])
    cookie_name, cookie_value = session_cookie(official).split("=", 1)
    (voter_token,) = voters(1)
    step_ms = tokens.step_seconds() * 1000

    with chromium() as browser:
        context = browser.new_context(locale="ko-KR", viewport=SCREEN, base_url=server.base_url)
        context.add_cookies([{"name": cookie_name, "value": cookie_value, "url": server.base_url}])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        try:
            page.goto(f"/onsite/sessions/{session.pk}/screen/")
            qr = page.locator('[data-field="qr"]')
            sync_api.expect(qr.locator("svg")).to_be_visible()
            sync_api.expect(page.locator("h1")).to_have_text("서울광장 주말 차 없는 거리 운영")
            sync_api.expect(page.locator(".facts")).to_contain_text("서울시청 시민청 (지하 1층)")
            first_step = qr.get_attribute("data-step")
            first_svg = qr.inner_html()
            box = qr.bounding_box()
            assert box is not None
            # Large, square, and wholly on the screen: nothing to scroll at the venue.
            assert box["height"] >= 0.75 * SCREEN["height"], box
            assert abs(box["width"] - box["height"]) < 2, box
            assert box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], box
            assert page.evaluate("document.scrollingElement.scrollHeight") <= SCREEN["height"]
            assert page.evaluate("document.scrollingElement.scrollWidth") <= SCREEN["width"]
            page.evaluate("window.__notReloaded = true")
            page.screenshot(path=str(screenshots_dir() / "screen-open.png"))

            # The next step: a new code, drawn without a reload.
            sync_api.expect(qr).not_to_have_attribute(
                "data-step", first_step or "", timeout=step_ms + TIMEOUT_MS
            )
            assert int(qr.get_attribute("data-step") or 0) > int(first_step or 0)
            assert qr.inner_html() != first_svg
            assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
            page.screenshot(path=str(screenshots_dir() / "screen-next-step.png"))

            # The code on the screen admits a phone (its location inside the circle).
            code = page.evaluate(
                "fetch(JSON.parse(document.getElementById('screen-config').textContent)"
                ".code_url).then(r => r.json())"
            )
            assert code["state"] == "open"
            answer = scan_and_vote(
                server.base_url, link=code["link"], option_id=yes.pk, voter_token=voter_token
            )
            assert answer["poll"] == poll.pk

            # A session that has not begun shows no code, and says so.
            page.goto(f"/onsite/sessions/{upcoming.pk}/screen/")
            sync_api.expect(page.locator('[data-field="placeholder"]')).to_be_visible()
            assert page.locator('[data-field="qr"] svg').count() == 0
            sync_api.expect(page.locator('[data-field="message"]')).not_to_be_empty()
            # A long title shrinks and stops at five lines: the page still fits the screen.
            assert page.evaluate("document.scrollingElement.scrollHeight") <= SCREEN["height"]
            page.screenshot(path=str(screenshots_dir() / "screen-upcoming.png"))
            assert not problems, problems
        finally:
            context.close()
