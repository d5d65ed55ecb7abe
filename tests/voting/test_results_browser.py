"""The admin's results page in a real browser: its charts drawn, nothing wider than the screen.

Headless Chromium (Debian's, driven by Playwright as in tests/voting/test_browser.py) opens the
results page of a closed, counted choice poll whose shares were weighted to a population, and of
a ranked poll, at 1366×768 (the officials' usual laptop screen); the ballots are cast and counted
through the ballot box beforehand (tests/voting/test_results_charts.py builds both polls). Each
page is saved as a full-page screenshot in ``RESULTS_SCREENSHOTS_DIR`` (default
/tmp/results-screenshots/), for a person to look at: the test checks structure, a person checks
the picture. Then the live dashboards of a ranked and a score poll: first preferences as the bars,
the instant runoff round by round, the mean scores. Needs PostgreSQL and Redis, like the
dashboard's browser test.
"""

import os
from pathlib import Path

import pytest

from tests.reliability.servers import running_servers
from tests.voting.test_browser import (
    BROWSER_TEST,
    TIMEOUT_MS,
    chromium,
    enrolled_official,
    sign_in,
)
from tests.voting.test_results_charts import (
    ranked_poll_counted,
    score_poll_counted,
    weighted_choice_poll,
)

pytestmark = BROWSER_TEST

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install -e .[dev])"
)

SCREEN = {"width": 1366, "height": 768}


def screenshots_dir() -> Path:
    # Never into the repository: a directory of the caller's choosing, or /tmp.
    directory = Path(os.environ.get("RESULTS_SCREENSHOTS_DIR") or "/tmp/results-screenshots/")  # noqa: S108
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def server(transactional_db):
    with running_servers("results-browser") as (server,):
        yield server


def test_results_pages_draw_their_charts_within_the_screen(server):
    # All data first: Playwright's sync API runs an event loop in this thread, where Django
    # refuses database work.
    weighted = weighted_choice_poll()
    ranked = ranked_poll_counted()
    official, secret = enrolled_official()

    with chromium() as browser:
        context = browser.new_context(locale="en-US", viewport=SCREEN, base_url=server.base_url)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console: {message.text}")
                if message.type == "error" and "favicon" not in message.location["url"]
                else None
            ),
        )
        try:
            first = f"/admin/voting/poll/{weighted.pk}/results/"
            sign_in(page, username=official.username, secret=secret, next_path=first)
            page.wait_for_url(f"**{first}")
            see_the_weighted_shares(page)
            page.screenshot(path=str(screenshots_dir() / "results-weighted.png"), full_page=True)

            page.goto(f"/admin/voting/poll/{ranked.pk}/results/")
            see_the_runoff(page)
            page.screenshot(path=str(screenshots_dir() / "results-ranked.png"), full_page=True)
            assert not problems, problems
        finally:
            context.close()


def see_the_weighted_shares(page) -> None:
    shares = page.locator("#chart-shares")
    sync_api.expect(shares).to_be_visible()
    # One raw bar per option; a weighted bar, or the "withheld" box, beside each.
    sync_api.expect(shares.locator("rect.bar-raw")).to_have_count(4)
    weighted = shares.locator("rect.bar-weighted").count()
    withheld = shares.locator(".chart-withheld").count()
    assert weighted >= 1 and weighted + withheld == 4
    for key in ("turnout-gu", "turnout-age_band", "turnout-sex"):
        sync_api.expect(page.locator(f"#chart-{key}")).to_be_visible()
    sync_api.expect(page.locator("#results-evidence")).to_contain_text("Effective sample size")
    assert_drawn_within_the_screen(page)


def see_the_runoff(page) -> None:
    irv = page.locator("#chart-irv")
    sync_api.expect(irv).to_be_visible()
    for round_, continuing in ((1, 4), (2, 3), (3, 2)):
        bars = irv.locator(f'rect.irv-bar[data-round="{round_}"]:not([data-option=""])')
        sync_api.expect(bars).to_have_count(continuing)
    sync_api.expect(irv.locator("path.irv-transfer")).to_have_count(4)
    sync_api.expect(page.locator("#chart-shares rect.bar-raw")).to_have_count(4)
    sync_api.expect(page.locator("#figure-ranking table")).to_have_count(2)
    assert_drawn_within_the_screen(page)


def assert_drawn_within_the_screen(page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= SCREEN["width"], f"the page scrolls sideways: {width}px"
    # Every chart has a size on screen and none is wider than its column.
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('svg.results-chart')].map(svg => {
            const box = svg.getBoundingClientRect();
            const column = svg.parentElement.getBoundingClientRect();
            return [svg.id, box.width, box.height, column.right - box.right];
        })"""
    )
    assert sizes
    for key, width, height, room in sizes:
        assert width > 100 and height > 20, (key, width, height)
        assert room >= -0.5, f"{key} sticks out of its column by {-room}px"


def test_dashboards_of_ranked_and_score_polls_show_the_runoff_and_the_mean_scores(server):
    ranked = ranked_poll_counted()
    scored = score_poll_counted()
    official, secret = enrolled_official()

    with chromium() as browser:
        context = browser.new_context(locale="en-US", viewport=SCREEN, base_url=server.base_url)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            path = f"/dashboard/polls/{ranked.pk}/"
            sign_in(page, username=official.username, secret=secret, next_path=path)
            page.wait_for_url(f"**{path}")
            # The bars are the first preferences (A 12 of 32), not the ballots naming each option.
            sync_api.expect(page.locator('[data-field="chart-caption"]')).to_have_text(
                "First preferences"
            )
            first = page.locator('[data-field="chart-table"] tbody tr')
            sync_api.expect(first).to_have_count(4)
            sync_api.expect(first.nth(0)).to_contain_text("37.5%")
            sync_api.expect(first.nth(1)).to_contain_text("31.3%")
            panel = page.locator('[data-field="ranked"]')
            sync_api.expect(panel).to_be_visible()
            sync_api.expect(panel.locator('[data-field="ranked-rounds"] li')).to_have_count(3)
            # Closed: the runoff's winner is elected, not merely leading.
            winner = panel.locator('[data-field="ranked-winner"]')
            sync_api.expect(winner).to_contain_text("Elected by instant runoff: B 자전거 도로")
            page.screenshot(path=str(screenshots_dir() / "dashboard-ranked.png"), full_page=True)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= SCREEN["width"], f"the page scrolls sideways: {width}px"

            page.goto(f"/dashboard/polls/{scored.pk}/")
            panel = page.locator('[data-field="scores"]')
            sync_api.expect(panel).to_be_visible()
            sync_api.expect(page.locator('[data-field="ranked"]')).to_be_hidden()
            rows = panel.locator('[data-field="scores-table"] tbody tr')
            sync_api.expect(rows).to_have_count(2)
            # score_poll_counted: 산책로 scored 1, 2, 3, 4, 5, 1, 2, ... by 12 (mean 33 / 12), 운동
            # 기구 5 by the 8 ballots whose index is not a multiple of 3.
            sync_api.expect(rows.nth(0)).to_contain_text("mean 2.75")
            sync_api.expect(rows.nth(1)).to_contain_text("8 rated")
            page.screenshot(path=str(screenshots_dir() / "dashboard-score.png"), full_page=True)
        finally:
            context.close()
