"""The officials' pages in a real browser, at the screens they are used on: nothing wider than the
window, no text cut off without a tooltip, and no serious accessibility violation (axe-core).

One server and one browser for the whole walk (the suite's time is tight): the admin's login and
second-factor pages, the poll list and form, the results pages of a weighted poll whose six options
are long Korean sentences and of a ranked poll, and the live dashboards (overview and one poll with
its breakdowns by gu, age band, gender and channel) — at 1366×768 (the officials' laptop), then the
dashboards and results again at a tablet's 1024×768 and 768×1024, a projector's 1920×1080, and
1280×720 in projector mode (larger type). Each page is saved as a screenshot in
``OFFICIALS_SCREENSHOTS_DIR`` (default /tmp/issue20-screenshots/) for a person to look at.
Needs PostgreSQL and Redis, like the dashboard's browser test.
"""

import os
from pathlib import Path

import pytest

from tests.a11y import assert_accessible, assert_fits
from tests.accounts.test_official_mfa import code_now
from tests.ballot_box import cast_many, close_and_count, count_now
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import PollFactory, born
from tests.reliability.servers import running_servers
from tests.voting.test_browser import (
    BROWSER_TEST,
    PASSWORD,
    TIMEOUT_MS,
    chromium,
    enrolled_official,
)
from tests.voting.test_results_charts import VOTER_CELLS, demo_population, ranked_poll_counted

pytestmark = BROWSER_TEST

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install -e .[dev])"
)
pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")

LAPTOP = {"width": 1366, "height": 768}
SCREENS = {
    "tablet-landscape": {"width": 1024, "height": 768},
    "tablet-portrait": {"width": 768, "height": 1024},
    "projector": {"width": 1920, "height": 1080},
    "projector-720p": {"width": 1280, "height": 720},
}
# Six options, each a long sentence: the labels the dashboard used to cut off.
LONG_OPTIONS = [
    "한강공원 야간 개방 시간을 자정까지 연장하고 주말에는 새벽 2시까지 운영한다",
    "야간 개방은 지금처럼 밤 11시까지 유지하고 조명과 안전 요원을 두 배로 늘린다",
    "여름철(6월~8월)에만 야간 개방을 자정까지 연장하고 나머지 계절은 현행대로 운영한다",
    "야간 개방 시간을 줄이고 그 예산을 공원 안 화장실과 편의 시설 개선에 쓴다",
    "자치구별로 주민 의견을 다시 모아 구마다 다른 개방 시간을 정하도록 한다",
    "잘 모르겠다",
]
LONG_TITLE = "한강공원 야간 개방 시간 연장에 관한 시민 의견 조사 (2026년 여름 시범 운영 전)"


def screenshots_dir() -> Path:
    # Never into the repository: a directory of the caller's choosing, or /tmp.
    directory = Path(os.environ.get("OFFICIALS_SCREENSHOTS_DIR") or "/tmp/issue20-screenshots/")  # noqa: S108
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def long_poll_counted():
    """A closed, counted poll of 종로구 and 강남구 with LONG_OPTIONS: 104 ballots, 13 in each of
    VOTER_CELLS (2 gu × 2 age bands × 2 sexes), so every breakdown has groups to show and the
    shares are weighted (tests/voting/test_results_charts.py's demonstration population)."""
    demo_population()
    poll = PollFactory(
        title=LONG_TITLE,
        options=LONG_OPTIONS,
        districts=[JONGNO, GANGNAM],
        results_visibility="officials",
    )
    options = [option.pk for option in poll.options.order_by("position")]
    for cell, (dong, age, sex) in enumerate(VOTER_CELLS):
        cast_many(
            poll,
            13,
            lambda i, cell=cell: [options[(i * (cell + 1)) % len(options)]],
            district_id=dong,
            birth_year=born(age),
            gender=sex,
        )
    close_and_count(poll)
    return poll


def long_poll_open():
    """An open city-wide poll with LONG_OPTIONS and a counted batch: the overview's card."""
    poll = PollFactory(title=LONG_TITLE, options=LONG_OPTIONS)
    options = [option.pk for option in poll.options.order_by("position")]
    cast_many(poll, 40, lambda i: [options[i % len(options)]], district_id=SAJIK, gender="female")
    count_now()
    return poll


@pytest.fixture
def server(transactional_db):
    with running_servers("officials-browser") as (server,):
        yield server


def test_officials_pages_fit_every_screen_and_pass_axe(server):
    # All data first: Playwright's sync API runs an event loop in this thread, where Django
    # refuses database work.
    closed = long_poll_counted()
    ranked = ranked_poll_counted()
    open_poll = long_poll_open()
    official, secret = enrolled_official()
    shots = screenshots_dir()

    with chromium() as browser:
        context = browser.new_context(locale="ko-KR", viewport=LAPTOP, base_url=server.base_url)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

        def check(name: str, *, screen: str = "laptop") -> None:
            context_name = f"{name} at {page.viewport_size['width']}×{page.viewport_size['height']}"
            page.screenshot(path=str(shots / f"{name}-{screen}.png"), full_page=True)
            assert_fits(page, context=context_name)
            assert_accessible(page, context=context_name)

        try:
            # The admin's login: the password, then the code from the app.
            page.goto("/admin/login/?next=/admin/")
            check("login")
            page.fill("#id_username", official.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/login/second-factor/**")
            check("second-factor")
            page.fill("#id_code", code_now(secret))
            page.click("#login-form input[type=submit]")
            page.wait_for_url("**/admin/")

            page.goto("/admin/voting/poll/")
            check("poll-list")
            page.goto(f"/admin/voting/poll/{open_poll.pk}/change/")
            check("poll-form")

            pages = {
                "home": "/admin/",
                "results-weighted": f"/admin/voting/poll/{closed.pk}/results/",
                "results-ranked": f"/admin/voting/poll/{ranked.pk}/results/",
                "dashboard-overview": "/dashboard/",
                "dashboard-poll": f"/dashboard/polls/{closed.pk}/",
            }
            for name, path in pages.items():
                page.goto(path)
                drawn(page, name)
                check(name)

            for screen, size in SCREENS.items():
                page.set_viewport_size(size)
                for name, path in pages.items():
                    if screen == "projector-720p" and not name.startswith("dashboard"):
                        continue  # (the results page at 1280 px is the laptop's, checked above)
                    page.goto(path)
                    if screen == "projector-720p":
                        projector_mode(page)
                    drawn(page, name)
                    check(name, screen=screen)
            assert not problems, problems
        finally:
            context.close()


def drawn(page, name: str) -> None:
    """Wait until ``name``'s page has drawn what the checks are about."""
    if name == "home":
        sync_api.expect(page.locator("#home-polls")).to_be_visible()
        sync_api.expect(page.locator("#jurisdiction")).to_be_visible()
    elif name == "results-weighted":
        sync_api.expect(page.locator("#chart-shares")).to_be_visible()
        sync_api.expect(page.locator("#results-evidence")).to_be_visible()
    elif name == "results-ranked":
        sync_api.expect(page.locator("#chart-irv")).to_be_visible()
    elif name == "dashboard-overview":
        sync_api.expect(page.locator("[data-poll]")).to_have_count(1)
        sync_api.expect(page.locator('[data-field="chart"] g.bar')).to_have_count(6)
    elif name == "dashboard-poll":
        for dimension in ("gu", "age_band", "gender"):
            sync_api.expect(page.locator(f'[data-breakdown="{dimension}"] table')).to_be_visible()
        # The full labels are on the page (the legend), not only in tooltips.
        legend = page.locator('[data-field="legend"] li')
        sync_api.expect(legend).to_have_count(6)
        sync_api.expect(legend.first).to_contain_text(LONG_OPTIONS[0])


def projector_mode(page) -> None:
    """Turn on the dashboard's projector mode (larger type) as an official would: its button."""
    toggle = page.locator('[data-action="projector"]')
    if toggle.get_attribute("aria-pressed") != "true":
        toggle.click()
    sync_api.expect(toggle).to_have_attribute("aria-pressed", "true")
    sync_api.expect(page.locator("html")).to_have_class("projector")
