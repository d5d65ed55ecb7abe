"""Publishing a poll in a real browser: from the poll's change form to its phone preview and the
publish confirmation, at 1366 × 768, signed in with the second factor
(voting/admin/publishing.py). Headless Chromium against a real server, as
tests/voting/test_browser.py runs it (PostgreSQL and Redis).

The page must fit the window (no sideways scrolling), pass axe-core with no serious or critical
violation, state the audience's size before anything is sent, and publish only on the button.
Screenshots go to /tmp/issue20-screenshots/.
"""

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from notifications.models import Kind, OutboxEvent
from tests.a11y import overflows_sideways, serious_violations
from tests.district_codes import JONGNO, SAJIK
from tests.factories import CitizenFactory, PollFactory, PollImageFactory
from tests.reliability.servers import running_servers
from tests.voting.test_browser import (
    CHROMIUM,
    TIMEOUT_MS,
    chromium,
    enrolled_official,
    on_a_thread,
    sign_in,
    sync_api,
)
from voting.models import Poll

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]

# For a person to look at (as tests/voting/test_officials_pages_browser.py keeps its own).
SHOTS = Path(os.environ.get("OFFICIALS_SCREENSHOTS_DIR") or "/tmp/issue20-screenshots/")  # noqa: S108
LONG = "한강공원 야간 개방 시간을 자정까지 연장하고 주말에는 새벽 2시까지 운영한다"


def picture(colour: str) -> bytes:
    """A PNG for every /media/ URL: the test server does not serve uploads."""
    buffer = io.BytesIO()
    Image.new("RGB", (800, 450), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def server(transactional_db):
    with running_servers("publish") as (server,):
        yield server


def test_an_official_previews_confirms_and_publishes_a_poll(server):
    for _ in range(3):
        CitizenFactory(district_id=SAJIK)
    draft = PollFactory(
        published=False,
        title="한강공원 야간 개방 연장",
        title_en="Longer night opening of the Han River parks",
        description="**자정까지** 개방할까요?\n\n- 여름 한정\n- [안내](https://seoul.go.kr)",
        districts=[JONGNO],
        options=[LONG, "현행 유지", "잘 모르겠다"],
    )
    PollImageFactory(poll=draft, is_cover=True, image="polls/2025/01/cover.png", alt="밤의 한강")
    official, secret = enrolled_official()
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = picture("#2b6cb0")

    with chromium() as browser:
        context = browser.new_context(
            locale="ko-KR", viewport={"width": 1366, "height": 768}, base_url=server.base_url
        )
        context.route(
            "**/media/**", lambda route: route.fulfill(body=png, content_type="image/png")
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            change = f"/admin/voting/poll/{draft.pk}/change/"
            sign_in(page, username=official.username, secret=secret, next_path=change)
            page.wait_for_url(f"**{change}")

            page.click("#poll-preview")
            page.wait_for_url("**/preview/")
            sync_api.expect(page.locator("#phone-title")).to_have_text(draft.title)
            assert not overflows_sideways(page)
            assert serious_violations(page) == []
            page.click("a[lang=en]")  # the toggle: the English the API sends readers of English
            sync_api.expect(page.locator("#phone-title")).to_have_text(draft.title_en)
            page.screenshot(path=str(SHOTS / "publish-preview-en.png"), full_page=True)

            page.goto(change)
            page.click("#poll-publish")
            page.wait_for_url("**/publish/")
            confirmation = page.locator("#publish-confirmation")
            sync_api.expect(confirmation).to_contain_text("3")  # the audience: 3 citizens
            sync_api.expect(page.locator("#publish-notifications")).to_be_visible()
            box = page.locator(".phone-screen").bounding_box()
            assert box is not None and (box["width"], box["height"]) == (390, 844)
            assert not overflows_sideways(page)
            assert serious_violations(page) == []
            page.screenshot(path=str(SHOTS / "publish-confirmation.png"), full_page=True)
            assert on_a_thread(lambda: Poll.objects.get(pk=draft.pk).published) is False

            page.click("#confirm-publish")
            page.wait_for_url(f"**{change}")
            sync_api.expect(page.locator(".messagelist .success")).to_contain_text(draft.title)
            page.screenshot(path=str(SHOTS / "publish-done.png"))
        finally:
            context.close()

    assert errors == []
    draft.refresh_from_db()
    assert draft.published
    assert OutboxEvent.objects.filter(kind=Kind.POLL_OPENED, subject_id=draft.pk).count() == 1
