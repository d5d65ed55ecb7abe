"""The live dashboard in a real browser: headless Chromium against a real daphne server.

An official logs in through the admin's login form, opens the dashboard, ballots are cast through
the API, the counter counts a batch, and the numbers on the page change without a reload. Needs
Debian's ``chromium`` (``.ci/run`` installs it) and Playwright for Python, which drives that
browser: Playwright never downloads one of its own here. The server runs against the test
database, so this needs PostgreSQL (an in-memory SQLite database cannot be shared with another
process) and Redis.
"""

import contextlib
import os
import threading
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db import connection

from tests.accounts.test_official_mfa import code_now
from tests.ballot_box import count_now
from tests.factories import OfficialFactory, PollFactory
from tests.reliability.servers import (
    cast_ballot,
    running_servers,
    voters,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"  # OfficialFactory's
TIMEOUT_MS = 15_000

# What every browser test needs: a server on the test database (PostgreSQL, Redis) and Chromium.
BROWSER_TEST = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM} (install Debian's chromium package; .ci/run does)",
    ),
]
pytestmark = BROWSER_TEST

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install -e .[dev])"
)


def enrolled_official():
    """An official with an authenticator app: the admin's login asks for its code after the
    password (accounts/officials_auth.py)."""
    official = OfficialFactory(role="official")
    secret = generate_totp_secret()
    TOTP.activate(official, secret)
    return official, secret


def sign_in(page, *, username: str, secret: str, next_path: str) -> None:
    """The admin's own login form: the password, then the code from the app."""
    page.goto(f"/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/login/second-factor/**")
    page.fill("#id_code", code_now(secret))
    page.click("#login-form input[type=submit]")


@pytest.fixture
def server(transactional_db):
    with running_servers("browser") as (server,):
        yield server


@contextlib.contextmanager
def chromium():
    # Playwright's sync API runs an event loop in this thread: no database work in its scope
    # (Django would refuse it as "async context"), so the data is made before.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            browser.close()


def on_a_thread(function):
    """``function()``'s result, run on a thread of its own: Playwright's sync API runs an event
    loop in the test's thread, where Django refuses database work."""
    result: list = []

    def run() -> None:
        try:
            result.append(function())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert result, f"{function.__name__} did not finish"
    return result[0]


def test_dashboard_numbers_change_live_without_a_reload(server):
    k = settings.BALLOT_BATCH_MIN
    poll = PollFactory(title="한강 야간 개방 확대", options=["찬성", "반대", "잘 모르겠다"])
    yes, no, unsure = list(poll.options.order_by("position"))
    nothing_counted = PollFactory(title="아직 집계 전")
    official, secret = enrolled_official()
    tokens = voters(3 * k)
    # The oldest k are counted before the page opens; the next k with the page open (the
    # newest k always wait for a later batch).
    first = [yes.pk] * (k - 3) + [no.pk] * 3
    second = [yes.pk] * (k // 2) + [no.pk] * (k - k // 2)
    newest = [unsure.pk] * k
    for token, option_id in zip(tokens[: 2 * k], first + second, strict=True):
        cast_ballot(server, token, poll.pk, option_id)
    assert count_now() == k

    with chromium() as browser:
        see_a_batch_arrive(
            browser,
            server,
            poll_id=poll.pk,
            withheld_poll_id=nothing_counted.pk,
            username=official.username,
            secret=secret,
            k=k,
            ballots=list(zip(tokens[2 * k :], newest, strict=True)),
        )


def see_a_batch_arrive(browser, server, *, poll_id, withheld_poll_id, username, secret, k, ballots):
    dashboard_path = f"/dashboard/polls/{poll_id}/"
    context = browser.new_context(
        locale="en-US", viewport={"width": 1600, "height": 1000}, base_url=server.base_url
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} for {response.url}")
            if response.status >= 400
            else None
        ),
    )

    def console(message) -> None:
        # (The admin's login page has no favicon; that 404 is not the dashboard's.)
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            problems.append(f"console: {message.text} at {message.location['url']}")

    page.on("console", console)
    try:
        # The admin's own login form (password, then the code), then back to the dashboard.
        sign_in(page, username=username, secret=secret, next_path=dashboard_path)
        page.wait_for_url(f"**{dashboard_path}")

        total = page.locator('[data-field="total"]')
        sync_api.expect(page.locator('[data-field="connection"]')).to_have_class("conn conn--live")
        sync_api.expect(total).to_have_text(str(k))
        sync_api.expect(page.locator('[data-field="note"]')).to_be_hidden()
        sync_api.expect(page.locator('[data-field="status"]')).to_have_text("open")
        # Mark this document: a reload would lose the mark.
        page.evaluate("window.__notReloaded = true")

        for token, option_id in ballots:
            cast_ballot(server, token, poll_id, option_id)
        assert on_a_thread(count_now) == k  # as the counter service would, beside the server

        sync_api.expect(total).to_have_text(str(2 * k))
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        rows = page.locator('[data-field="chart-table"] tbody tr')
        sync_api.expect(rows).to_have_count(3)
        # 2k counted: yes k - 3 + k // 2, no 3 + k - k // 2; "not sure" (the newest) not yet.
        yes_votes, no_votes = k - 3 + k // 2, 3 + k - k // 2
        sync_api.expect(rows.nth(0)).to_contain_text(str(yes_votes))
        sync_api.expect(rows.nth(0)).to_contain_text(f"{yes_votes / (2 * k):.1%}")
        sync_api.expect(rows.nth(1)).to_contain_text(f"{no_votes / (2 * k):.1%}")
        sync_api.expect(rows.nth(2)).to_contain_text("0.0%")
        # Breakdowns are published at the close only: none while the poll is open.
        sync_api.expect(page.locator('[data-breakdown="gu"] .breakdown__empty').first).to_have_text(
            "—"
        )
        # The countdown ticks.
        clock = page.locator('[data-field="clock"]')
        before = clock.inner_text()
        page.wait_for_function(
            "before => document.querySelector('[data-field=\"clock\"]').textContent !== before",
            arg=before,
            timeout=5_000,
        )
        screenshot = os.environ.get("DASHBOARD_SCREENSHOT")
        if screenshot:
            page.screenshot(path=screenshot, full_page=True)

        # A poll with nothing counted: no number, and the reason why.
        page.goto(f"/dashboard/polls/{withheld_poll_id}/")
        sync_api.expect(page.locator('[data-field="connection"]')).to_have_class("conn conn--live")
        sync_api.expect(page.locator('[data-field="total"]')).to_have_text("—")
        note = page.locator('[data-field="note"]')
        sync_api.expect(note).to_be_visible()
        # (Its language: see test_dashboard.py, the English page's reason for a missing total.)
        sync_api.expect(note).to_contain_text(str(k))
        assert not problems, problems
    finally:
        context.close()


def test_the_overview_shows_a_poll_that_opens_after_it_loaded(server):
    from datetime import timedelta

    from django.utils import timezone

    open_now = PollFactory(title="지금 열린 투표")
    official, secret = enrolled_official()

    def poll_opening_soon():
        # Made once the browser is up and logged in, so the page loads before it opens.
        return PollFactory(
            title="곧 열릴 투표",
            opens_at=timezone.now() + timedelta(seconds=6),
            closes_at=timezone.now() + timedelta(days=1),
        )

    with chromium() as browser:
        context = browser.new_context(locale="en-US", base_url=server.base_url)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            sign_in(page, username=official.username, secret=secret, next_path="/admin/")
            page.wait_for_url(f"{server.base_url}/admin/")
            later = on_a_thread(poll_opening_soon)
            page.goto("/dashboard/")
            cards = page.locator("[data-poll]")
            sync_api.expect(cards).to_have_count(1)
            sync_api.expect(cards.first).to_have_attribute("data-poll", str(open_now.pk))
            # No click, no reload by hand: the page notices the opening and shows both.
            sync_api.expect(cards).to_have_count(2, timeout=20_000)
            shown = {cards.nth(i).get_attribute("data-poll") for i in range(2)}
            assert shown == {str(open_now.pk), str(later.pk)}
        finally:
            context.close()
