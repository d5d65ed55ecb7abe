"""The officials' whole path in a real browser, as a gu official with no training would walk it.

Signed in with the password and the authenticator's code, a 강남구 official starts from the home
page, creates a poll with option pictures and the whole gu as its audience, reads the phone
preview, publishes it through the confirmation (which states how many citizens it reaches and
that they will be notified), watches ballots arrive on the live dashboard, closes it through its
confirmation, reads the results with their charts and records the outcome. At every page, at
1366×768 (the officials' usual laptop): nothing wider than the window, and no serious or critical
axe-core finding. Screenshots go to ``OFFICIALS_SCREENSHOTS_DIR`` (default
/tmp/issue20-screenshots/), for a person to look at.

Headless Chromium (Debian's, driven by Playwright) against a real daphne server on the test
database: PostgreSQL and Redis, as tests/voting/test_browser.py.
"""

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from tests.a11y import clipped_elements, overflows_sideways, serious_violations
from tests.ballot_box import after_close, count_now
from tests.conftest import make_session_token
from tests.district_codes import GANGNAM, SAJIK, SINSA, YEOKSAM1
from tests.factories import CitizenFactory, OfficialFactory
from tests.reliability.servers import DaphneServer, cast_ballot, running
from tests.voting.test_browser import (
    BROWSER_TEST,
    PASSWORD,
    TIMEOUT_MS,
    chromium,
    on_a_thread,
)
from voting.models import Outcome, Poll

pytestmark = BROWSER_TEST

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install -e .[dev])"
)
pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
expect = sync_api.expect

SHOTS = Path(os.environ.get("OFFICIALS_SCREENSHOTS_DIR") or "/tmp/issue20-screenshots/")  # noqa: S108
SCREEN = {"width": 1366, "height": 768}
TITLE = "강남대로 보행자 전용 시간 도입"
OPTIONS = ("찬성", "반대", "잘 모르겠다")


def picture(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def server(transactional_db, tmp_path):
    # Uploads land in a directory of this test's own, never in the repository's media/.
    with running(DaphneServer("workspace", MEDIA_ROOT=str(tmp_path / "media"))) as (server,):
        yield server


def gangnam_official():
    """A 강남구 official with an authenticator app (the admin asks for its code)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    official = OfficialFactory(role="official", gu=GANGNAM)
    secret = generate_totp_secret()
    TOTP.activate(official, secret)
    return official, secret


def check_page(page, name: str) -> None:
    """What every page of the path must hold: it fits the window, hides no text without a
    tooltip, and passes axe-core; then its picture, for a person."""
    assert not overflows_sideways(page), f"{name}: wider than the window"
    assert clipped_elements(page) == [], name
    assert serious_violations(page) == [], name
    page.screenshot(path=str(SHOTS / f"workspace-{name}.png"), full_page=True)


def test_a_gu_official_walks_a_poll_from_home_to_outcome(server):
    k = settings.BALLOT_BATCH_MIN
    official, secret = gangnam_official()
    # 2k citizens of 강남구 (two dongs) vote; 3 of 종로구 are outside the audience.
    gangnam = [
        CitizenFactory(district_id=(SINSA if i % 2 else YEOKSAM1), birth_year=1960 + i)
        for i in range(2 * k)
    ]
    tokens = [make_session_token(citizen) for citizen in gangnam]
    for _ in range(3):
        CitizenFactory(district_id=SAJIK)
    SHOTS.mkdir(parents=True, exist_ok=True)
    seoul_now = timezone.localtime()
    closes = seoul_now + timedelta(days=7)

    with chromium() as browser:
        context = browser.new_context(locale="ko-KR", viewport=SCREEN, base_url=server.base_url)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            # Sign in: the password, then the authenticator's code; the home page follows.
            page.goto("/admin/login/?next=/admin/")
            check_page(page, "01-login")
            page.fill("#id_username", official.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/login/second-factor/**")
            check_page(page, "02-second-factor")
            from tests.accounts.test_official_mfa import code_now

            page.fill("#id_code", code_now(secret))
            page.click("#login-form input[type=submit]")
            page.wait_for_url("**/admin/")
            expect(page.locator("#jurisdiction")).to_contain_text("강남구")
            expect(page.locator("#home-polls")).to_be_visible()
            check_page(page, "03-home")

            # Create the poll from the home page's shortcut.
            page.click("#home-new-poll")
            page.wait_for_url("**/admin/voting/poll/add/")
            page.fill("#id_title", TITLE)
            page.fill(
                "#id_description",
                "주말 **오후 2시부터 6시까지** 강남대로를 보행자 전용으로 운영할까요?",
            )
            expect(page.locator("#markdown-preview strong")).to_have_text("오후 2시부터 6시까지")
            for index, (label, colour) in enumerate(
                zip(OPTIONS, ("#2b6cb0", "#c53030", "#718096"), strict=True)
            ):
                page.fill(f"#id_options-{index}-label", label)
                page.set_input_files(
                    f"#id_options-{index}-image",
                    files=[
                        {
                            "name": f"o{index}.png",
                            "mimeType": "image/png",
                            "buffer": picture(colour),
                        }
                    ],
                )
                page.fill(f"#id_options-{index}-image_alt", f"{label}을 뜻하는 색")

            # The audience: the picker names each dong with its gu and offers only this gu's.
            live = page.locator("#audience-estimate-live")
            page.click(".field-districts .select2-selection")
            page.keyboard.type("신사동")
            offered = page.locator(".select2-results__option")
            expect(offered).to_have_count(1)
            expect(offered.first).to_have_text("강남구 신사동")  # 관악구 신사동 is not this gu's
            page.keyboard.press("Escape")
            page.click(".field-districts .select2-selection")
            page.keyboard.type("강남구")
            expect(offered.first).to_have_text("강남구")
            offered.first.click()
            expect(page.locator(".field-districts .select2-selection__choice")).to_contain_text(
                "강남구"
            )
            expect(live).to_contain_text(str(2 * k))

            page.fill("#id_opens_at_0", seoul_now.strftime("%Y-%m-%d"))
            page.fill("#id_opens_at_1", seoul_now.strftime("%H:%M:%S"))
            page.fill("#id_closes_at_0", closes.strftime("%Y-%m-%d"))
            page.fill("#id_closes_at_1", closes.strftime("%H:%M:%S"))
            check_page(page, "04-new-poll")
            page.click("input[name=_continue]")
            page.wait_for_url("**/admin/voting/poll/*/change/")
            poll_id = int(page.url.rstrip("/").split("/")[-2])
            for index in range(len(OPTIONS)):
                # Each uploaded picture is served back as its thumbnail (lazy: scrolled to).
                thumbnail = page.locator(f"#options-{index} img.thumbnail")
                thumbnail.scroll_into_view_if_needed()
                page.wait_for_function(
                    "image => image.complete && image.naturalWidth > 0",
                    arg=thumbnail.element_handle(),
                )
            check_page(page, "05-draft")

            # The phone preview, then publishing through its confirmation.
            page.click("#poll-preview")
            expect(page.get_by_text(TITLE).first).to_be_visible()
            # The phone as citizens hold it: 390×844 CSS pixels.
            screen = page.locator(".phone-screen").bounding_box()
            assert screen is not None and (screen["width"], screen["height"]) == (390, 844)
            check_page(page, "06-preview")
            page.go_back()
            page.click("#poll-publish")
            confirmation = page.locator("#publish-confirmation")
            expect(confirmation).to_contain_text(str(2 * k))
            expect(page.locator("#publish-notifications")).to_contain_text("알림")
            check_page(page, "07-publish-confirmation")
            assert not on_a_thread(lambda: Poll.objects.get(pk=poll_id).published)
            page.click("#confirm-publish")
            page.wait_for_url(f"**/admin/voting/poll/{poll_id}/change/")
            expect(page.locator(".messagelist .success")).to_be_visible()
            assert on_a_thread(lambda: Poll.objects.get(pk=poll_id).published)

            # Ballots arrive on the live dashboard without a reload.
            options = on_a_thread(
                lambda: list(
                    Poll.objects.get(pk=poll_id)
                    .options.order_by("position")
                    .values_list("pk", flat=True)
                )
            )
            page.goto(f"/dashboard/polls/{poll_id}/")
            expect(page.locator('[data-field="connection"]')).to_have_class("conn conn--live")
            page.evaluate("window.__notReloaded = true")
            choices = [options[i % 3 if i < k else i % 2] for i in range(2 * k)]
            for token, option_id in zip(tokens, choices, strict=True):
                cast_ballot(server, token, poll_id, option_id)
            assert on_a_thread(count_now) == k  # the newest k wait for a later batch
            expect(page.locator('[data-field="total"]')).to_have_text(str(k))
            assert page.evaluate("window.__notReloaded === true")
            check_page(page, "08-dashboard")

            # Closing, through its confirmation; the counter then counts to the end.
            page.goto(f"/admin/voting/poll/{poll_id}/change/")
            page.click("#poll-close")
            expect(page.locator("#close-confirmation")).to_be_visible()
            check_page(page, "09-close-confirmation")
            page.click("#confirm-close")
            page.wait_for_url(f"**/admin/voting/poll/{poll_id}/change/")
            expect(page.locator(".messagelist .success")).to_be_visible()
            poll = on_a_thread(lambda: Poll.objects.get(pk=poll_id))
            assert poll.closed_early_at is not None
            assert on_a_thread(lambda: count_now(now=after_close(poll))) == k

            # The results, with their charts.
            page.goto(f"/admin/voting/poll/{poll_id}/results/")
            expect(page.locator("#chart-shares rect.bar-raw")).to_have_count(len(OPTIONS))
            # Every one of the 2k citizens of the audience voted: 100%.
            expect(page.locator("#results-turnout")).to_contain_text("(100.0%)")
            check_page(page, "10-results")

            # The home lists it as awaiting its outcome; the official records the outcome.
            page.goto("/admin/")
            awaiting = page.locator('[data-status="awaiting_outcome"]')
            expect(awaiting).to_contain_text(TITLE)
            page.goto("/admin/voting/outcome/add/")
            page.select_option("#id_poll", str(poll_id))
            page.fill("#id_summary", "주말 보행자 전용 시간을 시범 운영하기로 했습니다.")
            page.fill("#id_decided_on", timezone.localdate().isoformat())
            check_page(page, "11-outcome")
            page.click("input[name=_save]")
            expect(page.locator(".messagelist .success")).to_be_visible()
        except Exception:
            page.screenshot(path=str(SHOTS / "workspace-failed.png"), full_page=True)
            raise
        finally:
            context.close()

    assert errors == []
    assert on_a_thread(lambda: Outcome.objects.filter(poll_id=poll_id).count()) == 1
    poll = on_a_thread(lambda: Poll.objects.get(pk=poll_id))
    assert poll.owner_id == official.pk
    assert on_a_thread(lambda: list(poll.districts.values_list("code", flat=True))) == [GANGNAM]
    assert on_a_thread(lambda: all(o.image for o in poll.options.all()))
