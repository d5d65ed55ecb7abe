"""The officials' home in a real browser (headless Chromium against a daphne server, as
tests/voting/test_browser.py): a gu official signs in with the second factor and lands on a home
that fits a 1,366 px screen and a 1,024 px tablet, in Korean, with no serious axe-core finding.

Screenshots go to ``ISSUE20_SCREENSHOTS_DIR`` (default /tmp/issue20-screenshots/) for a person to
look at. One server and one browser for the whole test: the suite's time is short.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone

from tests.a11y import assert_accessible, assert_fits
from tests.discussion.factories import CommentFactory
from tests.district_codes import GANGNAM, SINSA
from tests.factories import OfficialFactory, PollFactory
from tests.proposals.factories import ProposalFactory
from tests.reliability.servers import running_servers
from tests.voting.test_browser import TIMEOUT_MS, chromium, sign_in
from tests.voting.test_browser import pytestmark as browser_marks

pytestmark = browser_marks

LONG = "한강공원 야간 개방 시간을 자정까지 연장하고 주말에는 새벽 2시까지 운영한다"
SCREENS = {"1366": {"width": 1366, "height": 768}, "1024": {"width": 1024, "height": 768}}


def screenshots_dir() -> Path:
    directory = Path(os.environ.get("ISSUE20_SCREENSHOTS_DIR") or "/tmp/issue20-screenshots/")  # noqa: S108
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def server(transactional_db):
    with running_servers("home") as (server,):
        yield server


def test_the_home_fits_the_screen_and_the_tablet_and_passes_axe(server):
    official = OfficialFactory(role="official", gu=GANGNAM, display_name="홍길동")
    secret = generate_totp_secret()
    TOTP.activate(official, secret)
    now = timezone.now()
    for i in range(6):
        PollFactory(title=f"{LONG} ({i})", published=False, districts=[SINSA], owner=official)
    PollFactory(title=LONG, districts=[GANGNAM], opens_at=now + timedelta(days=2))
    PollFactory(title=LONG, districts=[GANGNAM])
    closed = PollFactory(
        title=LONG, districts=[GANGNAM], opens_at=now - timedelta(days=9), closes_at=now
    )
    ProposalFactory(title=LONG, district_id=GANGNAM, under_review=True)
    CommentFactory(poll=closed, body=LONG * 2, report_count=3)

    with chromium() as browser:
        context = browser.new_context(
            locale="ko-KR", viewport=SCREENS["1366"], base_url=server.base_url
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, username=official.username, secret=secret, next_path="/admin/")
        page.wait_for_selector("#home-polls")

        assert page.inner_text("#jurisdiction").endswith("강남구 · 홍길동")
        assert page.locator("#home-polls [data-status='draft'] li").count() == 5
        assert page.locator("#home-queue [data-status]").count() == 2
        assert page.get_attribute("#home-new-poll", "href") == "/admin/voting/poll/add/"
        for name, screen in SCREENS.items():
            page.set_viewport_size(screen)
            page.screenshot(path=str(screenshots_dir() / f"home-{name}.png"), full_page=True)
            assert_fits(page, context=f"home at {name}px")
            assert_accessible(page, context=f"home at {name}px")
