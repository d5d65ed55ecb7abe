"""The operator's pages in a real browser, at a call-centre desk's 1366×768 and on a tablet.

An operator signs in through the officials' login (password, then the authenticator code), finds
the poll, sends the caller a code (the server's console SMS backend prints it: the test reads it
from the server's output, as the caller would read it from their phone), casts, reads the
receipt, and then finds the same caller marked as having voted. Screenshots of every step go to
``ASSIST_SCREENSHOTS`` (default /tmp/assist-screenshots/). Needs PostgreSQL, Redis and Debian's
chromium, like tests/voting/test_browser.py, whose helpers it uses.
"""

import os
import re
import secrets
import tempfile
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from assisted.pins import issue_pin
from assisted.roles import ensure_operator_group
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from tests.reliability.servers import running_servers
from tests.voting.test_browser import BROWSER_TEST, TIMEOUT_MS, chromium, sign_in

pytestmark = BROWSER_TEST

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

SHOTS = Path(
    os.environ.get("ASSIST_SCREENSHOTS", Path(tempfile.gettempdir(), "assist-screenshots"))
)
# A number of its own each run: the server's SMS budget and limits live in Redis, past the test.
PHONE = f"+8210{secrets.randbelow(10**8):08d}"
DOMESTIC = f"010-{PHONE[5:9]}-{PHONE[9:]}"


@pytest.fixture
def server(transactional_db):
    with running_servers("assisted-browser") as (server,):
        yield server


def texted_code(server) -> str:
    """The last code the server texted to PHONE (ConsoleSMSBackend: "to=... body=...")."""
    found = re.findall(rf"to={re.escape(PHONE)} body=\D*(\d{{6}})", server.output())
    assert found, f"no code texted:\n{server.output()}"
    return found[-1]


def test_an_operator_casts_for_a_caller_and_reads_the_receipt_back(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    poll = PollFactory(
        title="한강공원 야간 개방 시간 확대",
        title_en="Longer night opening of the Han River parks",
        options=["찬성", "반대", "잘 모르겠다"],
    )
    PollFactory(title="따릉이 요금 조정", title_en="Ttareungyi fares")
    CitizenFactory(phone=PHONE, display_name="김영희")
    elder = CitizenFactory(phone=None, phone_verified=False)
    _visit_pin, pin = issue_pin(
        official=OfficialFactory(role="official"), citizen=elder, name="박순자", place="사직동"
    )
    ensure_operator_group()  # after the previous test's flush
    operator = OfficialFactory(role="operator", username="operator1")
    secret = generate_totp_secret()
    TOTP.activate(operator, secret)

    with chromium() as browser:
        context = browser.new_context(
            locale="ko-KR", viewport={"width": 1366, "height": 768}, base_url=server.base_url
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        try:
            sign_in(page, username=operator.username, secret=secret, next_path="/assist/")
            page.wait_for_url("**/assist/")
            page.fill("#q", "한강")
            page.click(".search button")
            sync_api.expect(page.locator(".polls li")).to_have_count(1)
            page.screenshot(path=SHOTS / "1-search.png", full_page=True)

            page.click(".polls a")
            page.screenshot(path=SHOTS / "2-identify.png", full_page=True)
            page.fill("#phone", DOMESTIC)
            page.click("form[action$='/sms/'] button")
            page.wait_for_url("**/code/")
            page.fill("#code", "000000" if texted_code(server) != "000000" else "111111")
            page.click("main form button")
            sync_api.expect(page.locator(".alert")).to_be_visible()
            page.screenshot(path=SHOTS / "3-wrong-code.png", full_page=True)
            page.fill("#code", texted_code(server))
            page.click("main form button")
            page.wait_for_url("**/ballot/")
            sync_api.expect(page.locator(".option")).to_have_count(3)
            page.screenshot(path=SHOTS / "4-ballot.png", full_page=True)

            page.get_by_label("찬성").check()
            page.click("button.primary")
            page.wait_for_url("**/receipt/")
            receipt = page.locator('[data-field="receipt"]').inner_text()
            assert re.fullmatch(r"[A-Z0-9-]{8,}", receipt), receipt
            page.screenshot(path=SHOTS / "5-receipt.png", full_page=True)

            # The same caller again: voted, and nothing on the page says what.
            page.goto(f"/assist/polls/{poll.pk}/")
            page.fill("#phone", DOMESTIC)
            page.click("form[action$='/sms/'] button")
            page.wait_for_url("**/code/")
            page.fill("#code", texted_code(server))
            page.click("main form button")
            page.wait_for_url("**/ballot/")
            sync_api.expect(page.locator('[data-state="voted"]')).to_be_visible()
            assert page.locator("text=찬성").count() == 0
            page.screenshot(path=SHOTS / "6-already-voted.png", full_page=True)

            # A tablet, in English: a caller without a mobile phone, by the visit PIN.
            tablet = browser.new_context(
                locale="en-US",
                viewport={"width": 820, "height": 1180},
                base_url=server.base_url,
                storage_state=context.storage_state(),
            )
            on_tablet = tablet.new_page()
            on_tablet.set_default_timeout(TIMEOUT_MS)
            on_tablet.goto(f"/assist/polls/{poll.pk}/")
            on_tablet.screenshot(path=SHOTS / "7-tablet-identify.png", full_page=True)
            on_tablet.fill("#name", "박순자")
            on_tablet.fill("#pin", pin)
            on_tablet.click("form[action$='/pin/'] button")
            on_tablet.wait_for_url("**/ballot/")
            sync_api.expect(on_tablet.locator(".option")).to_have_count(3)
            on_tablet.screenshot(path=SHOTS / "8-tablet-ballot.png", full_page=True)
            tablet.close()
            assert not problems, problems
        finally:
            context.close()
