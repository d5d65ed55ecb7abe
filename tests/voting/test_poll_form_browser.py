"""The guided poll form in a real browser at 1366×768 (voting/admin/polls.py, poll_form.js).

An official signs in with the second factor, opens the new-poll form and fills it step by step:
the Markdown preview follows the description, the choice limits appear only for the kinds that
use them, the district picker labels 신사동 with its gu and the audience estimate follows the
picker, the options are reordered with the arrow buttons and by dragging; the poll is saved in
that order. Nothing is wider than the window, and axe-core finds no serious violation.
Screenshots go to ``OFFICIALS_SCREENSHOTS_DIR`` (default /tmp/issue20-screenshots/).
Needs PostgreSQL and Redis, like the dashboard's browser test.
"""

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.a11y import overflows_sideways, serious_violations
from tests.district_codes import CHEONGUN, SAJIK, SINSA
from tests.factories import CitizenFactory, PollFactory
from tests.reliability.servers import running_servers
from tests.voting.test_browser import (
    BROWSER_TEST,
    TIMEOUT_MS,
    chromium,
    enrolled_official,
    on_a_thread,
    sign_in,
)
from voting.models import Poll

pytestmark = BROWSER_TEST

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install -e .[dev])"
)
pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")

SHOTS = Path(os.environ.get("OFFICIALS_SCREENSHOTS_DIR") or "/tmp/issue20-screenshots/")  # noqa: S108
ADD = "/admin/voting/poll/add/"


def picture() -> bytes:
    """A PNG for every /media/ URL: the test server does not serve uploads."""
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), "#2b6cb0").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def server(transactional_db):
    with running_servers("form") as (server,):
        yield server


def labels_in_order(page) -> list[str]:
    return page.eval_on_selector_all(
        ".option-rows > .option-row:not(.empty-form) input[name$='-label']",
        "inputs => inputs.map(input => input.value).filter(Boolean)",
    )


def test_an_official_fills_the_guided_form_and_saves_a_poll(server):
    for _ in range(3):
        CitizenFactory(district_id=SAJIK)
    CitizenFactory(district_id=CHEONGUN)
    CitizenFactory(district_id=SINSA)
    pictured = PollFactory(published=False, title="사진이 있는 선택지", districts=[SINSA])
    pictured.options.filter(position=0).update(image="options/2026/01/a.png", image_alt="공원")
    official, secret = enrolled_official()
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = picture()

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
        expect = sync_api.expect
        try:
            sign_in(page, username=official.username, secret=secret, next_path=ADD)
            page.wait_for_url(f"**{ADD}")
            assert not overflows_sideways(page)
            steps = page.locator(".poll-step-title").all_inner_texts()
            assert [text.split()[0] for text in steps] == ["1", "2", "3", "4", "5"]

            # 1. Content: the preview follows the Markdown.
            page.fill("#id_title", "한강공원 야간 개방 연장")
            page.fill("#id_description", "**자정까지** 개방할까요?\n\n<script>bad()</script>")
            expect(page.locator("#markdown-preview strong")).to_have_text("자정까지")
            expect(page.locator("#markdown-preview")).to_contain_text("<script>bad()</script>")

            # 2. Question and options: limits only for the kinds that use them.
            min_choices = page.locator(".form-row.field-min_choices")
            expect(min_choices).to_be_hidden()
            page.select_option("#id_kind", "multiple")
            expect(min_choices).to_be_visible()
            expect(page.locator(".form-row.field-score_min")).to_be_hidden()
            page.select_option("#id_kind", "single")
            expect(min_choices).to_be_hidden()

            for index, label in enumerate(["찬성", "반대", "보류"]):
                page.fill(f"#id_options-{index}-label", label)
            page.locator("#options-2 button[data-move=up]").click()
            assert labels_in_order(page) == ["찬성", "보류", "반대"]
            page.locator("#options-1 .option-handle").drag_to(page.locator("#options-0"))
            page.wait_for_function(
                "document.querySelector('.option-rows > .option-row').id === 'options-1'"
            )
            assert labels_in_order(page) == ["반대", "찬성", "보류"]
            expect(page.locator("#options-1 .option-number")).to_have_text("#1")

            # 3. Audience: the picker says which 신사동; the estimate follows it.
            live = page.locator("#audience-estimate-live")
            expect(live).to_contain_text("5")  # all of Seoul: every registered citizen
            page.click(".field-districts .select2-selection")
            page.keyboard.type("신사동")
            options = page.locator(".select2-results__option")
            expect(options.first).to_have_text("관악구 신사동")
            expect(options.nth(1)).to_have_text("강남구 신사동")
            options.nth(1).click()
            choice = page.locator(".field-districts .select2-selection__choice")
            expect(choice).to_contain_text("강남구 신사동")
            expect(live).not_to_contain_text("5")
            expect(live).to_contain_text("1")

            # 4. Schedule.
            page.fill("#id_opens_at_0", "2030-05-01")
            page.fill("#id_opens_at_1", "09:00:00")
            page.fill("#id_closes_at_0", "2030-05-15")
            page.fill("#id_closes_at_1", "18:00:00")

            assert not overflows_sideways(page)
            page.screenshot(path=str(SHOTS / "poll-form-add.png"), full_page=True)
            assert serious_violations(page) == []

            page.click("input[name=_save]")
            page.wait_for_url("**/admin/voting/poll/")

            # A saved poll with an option image: a thumbnail, the district labelled.
            page.goto(f"/admin/voting/poll/{pictured.pk}/change/")
            expect(page.locator("#options-0 img.thumbnail")).to_be_visible()
            expect(page.locator(".field-districts .select2-selection__choice")).to_contain_text(
                "강남구 신사동"
            )
            assert not overflows_sideways(page)
            assert serious_violations(page) == []
            page.screenshot(path=str(SHOTS / "poll-form-change.png"), full_page=True)
        finally:
            context.close()

    assert errors == []
    poll = on_a_thread(lambda: Poll.objects.exclude(pk=pictured.pk).get())
    assert on_a_thread(lambda: list(poll.options.values_list("label", "position"))) == [
        ("반대", 0),
        ("찬성", 1),
        ("보류", 2),
    ]
    assert on_a_thread(lambda: list(poll.districts.values_list("code", flat=True))) == [SINSA]
    assert poll.owner_id == official.pk
