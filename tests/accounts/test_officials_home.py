"""The officials' home (/admin/): their polls by status, the queue, the shortcuts, and their
jurisdiction in every page's header (accounts/officials_home.py, accounts/officials_site.py).

Real admin HTTP requests by officials whose logins passed the second factor (tests/conftest.py).
Texts are asserted in English (the source language) unless the test is about Korean.
"""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone, translation

from discussion.models import Comment
from proposals.models import Proposal
from tests.discussion.factories import CommentFactory
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import OfficialFactory, PollFactory
from tests.proposals.factories import ProposalFactory
from voting.models import Outcome, Poll

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

HOME = "/admin/"
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def login(user, language: str = "en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def draft(**kwargs) -> Poll:
    return PollFactory(published=False, **kwargs)


def upcoming(**kwargs) -> Poll:
    now = timezone.now()
    return PollFactory(opens_at=now + DAY, closes_at=now + 8 * DAY, **kwargs)


def closed(**kwargs) -> Poll:
    now = timezone.now()
    return PollFactory(opens_at=now - 8 * DAY, closes_at=now - DAY, **kwargs)


def with_outcome(poll: Poll) -> Poll:
    Outcome.objects.create(poll=poll, summary="시행합니다.", decided_on=timezone.localdate())
    return poll


class Page(HTMLParser):
    """What a test reads off the home: each group's titles and count, ids, links, the header."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.groups: dict[str, list[str]] = {}
        self.counts: dict[str, int] = {}
        self.ids: dict[str, str] = {}  # id -> href (or "")
        self.hrefs: list[str] = []
        self.jurisdiction = ""
        self._group: str | None = None
        self._in_list_link = False
        self._in_jurisdiction = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if attr.get("data-status"):
            self._group = attr["data-status"]
            self.groups[self._group] = []
        if attr.get("data-count") is not None and self._group:
            self.counts[self._group] = int(attr["data-count"] or 0)
        if attr.get("id"):
            self.ids[attr["id"]] = attr.get("href") or ""
        if tag == "a" and attr.get("href"):
            self.hrefs.append(attr["href"] or "")
            self._in_list_link = self._group is not None and "see-all" not in str(attr.get("id"))
        if attr.get("id") == "jurisdiction" or self._in_jurisdiction:
            self._in_jurisdiction += 1 if tag == "span" else 0

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_list_link = False
        if tag == "span" and self._in_jurisdiction:
            self._in_jurisdiction -= 1
        if tag == "section":
            self._group = None

    def handle_data(self, data: str) -> None:
        if self._in_list_link and self._group and data.strip() and not data.startswith("See all"):
            self.groups[self._group].append(data.strip())
        if self._in_jurisdiction:
            self.jurisdiction += data


def home(client: Client) -> tuple[Page, str]:
    response = client.get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    return Page(html), html


# --- My polls ----------------------------------------------------------------------------------


def test_the_home_lists_the_polls_by_status_newest_first_with_counts():
    official = OfficialFactory(role="official")
    drafts = [draft(title=f"초안 {i}") for i in range(6)]  # one more than the home shows
    soon = upcoming(title="다음 주 투표")
    running = PollFactory(title="진행 중 투표")
    waiting = closed(title="결과 기다림")
    with_outcome(closed(title="결과 기록됨"))
    mine = draft(title="내 초안", owner=official)

    page, html = home(login(official))

    assert page.groups == {
        "draft": ["내 초안", "초안 5", "초안 4", "초안 3", "초안 2"],
        "upcoming": [soon.title],
        "open": [running.title],
        "awaiting_outcome": [waiting.title],
        "proposals_under_review": [],
        "comments_reported": [],
    }
    assert page.counts["draft"] == 7 and page.counts["awaiting_outcome"] == 1
    assert "결과 기록됨" not in html  # closed with its outcome: nothing left to do
    assert f'href="/admin/voting/poll/{mine.pk}/change/"' in html
    assert re.search(r'<li class="home-mine">\s*<a href="[^"]+">내 초안</a>', html)
    assert drafts[0].title not in html  # the sixth draft is behind "see all"


def test_see_all_leads_to_the_list_filtered_by_that_status():
    official = OfficialFactory(role="official")
    closed(title="결과 기다림")
    with_outcome(closed(title="결과 기록됨"))
    client = login(official)
    _page, html = home(client)

    see_all = re.findall(r'href="(/admin/voting/poll/\?status=(\w+))"', html)
    assert [status for _url, status in see_all] == ["awaiting_outcome"]  # only where there are
    response = client.get(see_all[0][0])
    assert response.status_code == 200
    assert [p.title for p in response.context["cl"].result_list] == ["결과 기다림"]


def test_a_gu_official_never_sees_another_gu_s_polls_or_queue_on_the_home():
    official = OfficialFactory(role="official", gu=JONGNO)
    ours = [
        draft(title="종로 초안", districts=[SAJIK]),
        PollFactory(title="종로 진행", districts=[JONGNO]),
    ]
    theirs = [
        draft(title="강남 초안", districts=[GANGNAM]),
        upcoming(title="강남 예정", districts=[SINSA]),
        PollFactory(title="강남 진행", districts=[GANGNAM]),
        closed(title="강남 마감", districts=[GANGNAM]),
        PollFactory(title="서울 전체 진행"),  # city-wide work
        draft(title="종로와 강남", districts=[SAJIK, GANGNAM]),  # reaches outside the gu
    ]
    ProposalFactory(title="강남 제안", district_id=GANGNAM, under_review=True)
    ProposalFactory(title="종로 제안", district_id=JONGNO, under_review=True)
    CommentFactory(poll=theirs[2], body="강남 댓글 신고됨", report_count=3)
    CommentFactory(poll=ours[1], body="종로 댓글 신고됨", report_count=1)

    page, html = home(login(official))

    assert page.groups["draft"] == ["종로 초안"] and page.groups["open"] == ["종로 진행"]
    assert page.counts["draft"] == 1 and page.counts["open"] == 1
    assert page.counts["upcoming"] == 0 and page.counts["awaiting_outcome"] == 0
    assert page.groups["proposals_under_review"] == ["종로 제안"]
    assert page.groups["comments_reported"] == ["종로 댓글 신고됨"]
    assert page.counts["proposals_under_review"] == 1 and page.counts["comments_reported"] == 1
    for title in [p.title for p in theirs] + ["강남 제안", "강남 댓글"]:
        assert title not in html


# --- The queue ---------------------------------------------------------------------------------


def test_the_queue_counts_proposals_under_review_and_reported_visible_comments():
    official = OfficialFactory(role="official")
    first = ProposalFactory(under_review=True, reached_threshold_at=timezone.now() - 2 * DAY)
    second = ProposalFactory(under_review=True)
    ProposalFactory()  # still collecting support
    ProposalFactory(status=Proposal.Status.REJECTED)
    most = CommentFactory(body="광고 링크가 있어요", report_count=4)
    some = CommentFactory(body="거친 말", report_count=1)
    CommentFactory(body="이미 숨김", report_count=9, hidden_at=timezone.now(), hidden_reason="x")
    CommentFactory(body="평범한 의견")
    client = login(official)

    page, _html = home(client)

    assert page.groups["proposals_under_review"] == [first.title, second.title]
    assert page.groups["comments_reported"] == [most.body, some.body]
    assert page.counts["proposals_under_review"] == 2 and page.counts["comments_reported"] == 2
    # "See all" opens the lists with the same filters: the same numbers.
    proposals = client.get("/admin/proposals/proposal/?status=under_review")
    assert proposals.context["cl"].result_count == 2
    comments = client.get("/admin/discussion/comment/?reported=yes&hidden=no")
    assert {c.pk for c in comments.context["cl"].result_list} == {most.pk, some.pk}
    assert Comment.objects.filter(report_count__gt=0).count() == 3


# --- Shortcuts and permissions -----------------------------------------------------------------


def test_shortcuts_lead_to_a_new_poll_and_the_live_dashboards():
    client = login(OfficialFactory(role="official"))
    page, _html = home(client)

    assert page.ids["home-new-poll"] == "/admin/voting/poll/add/"
    assert page.ids["home-dashboards"] == "/dashboard/"
    for url in (page.ids["home-new-poll"], page.ids["home-dashboards"]):
        assert client.get(url).status_code == 200


def test_sections_and_shortcuts_need_the_permissions():
    viewer = OfficialFactory(perms=["voting.view_poll"])
    page, _html = home(login(viewer))
    assert "home-polls" in page.ids and "home-dashboards" in page.ids
    assert "home-new-poll" not in page.ids  # may not add polls
    assert "home-queue" not in page.ids  # may not view proposals nor comments

    bare = OfficialFactory()  # staff, no permission at all
    page, _html = home(login(bare))
    assert not {"home-polls", "home-queue", "home-shortcuts"} & set(page.ids)


# --- The frame: names, jurisdiction, "View site" -----------------------------------------------


def test_every_admin_page_names_the_official_s_jurisdiction():
    gu_official = OfficialFactory(role="official", gu=GANGNAM, display_name="홍길동")
    city_official = OfficialFactory(role="official", display_name="김서울")

    with translation.override("ko"):
        page, _html = home(login(gu_official, "ko"))
    assert page.jurisdiction.split(":")[-1].strip() == "강남구 · 홍길동"

    client = login(city_official)
    for url in (HOME, "/admin/voting/poll/", "/admin/proposals/proposal/"):
        response = client.get(url)
        assert response.status_code == 200
        assert (
            Page(response.content.decode()).jurisdiction.strip().endswith("All of Seoul · 김서울")
        )

    signed_out = Client().get("/admin/login/")
    assert 'id="jurisdiction"' not in signed_out.content.decode()


def test_the_site_is_named_for_seoul_and_has_no_view_site_link_to_a_404():
    client = login(OfficialFactory(role="official"))
    response = client.get(HOME)
    html = response.content.decode()

    assert "Seoul policy voting — officials" in html
    assert "Django administration" not in html
    assert response.context["site_url"] is None and "View site" not in html
    # Every link on the home leads somewhere: no 404 anywhere on it.
    for href in sorted(set(Page(html).hrefs)):
        if href.startswith("/") and not href.startswith("/static/"):
            assert client.get(href).status_code in (200, 302), href


def test_the_app_list_puts_voting_first():
    response = login(OfficialFactory(role="official")).get(HOME)
    labels = [app["app_label"] for app in response.context["app_list"]]
    assert labels[:3] == ["voting", "proposals", "discussion"]


# --- Cost --------------------------------------------------------------------------------------


def test_the_home_costs_the_same_few_queries_however_much_there_is(django_assert_num_queries):
    official = OfficialFactory(role="official", gu=JONGNO)
    client = login(official)
    for _ in range(2):  # the session is read from the cache from then on
        client.get(HOME)

    def fill(n: int) -> None:
        for i in range(n):
            draft(title=f"초안 {n}-{i}", districts=[JONGNO])
            PollFactory(districts=[SAJIK])
            closed(districts=[JONGNO])
            ProposalFactory(district_id=JONGNO, under_review=True)
            CommentFactory(poll=PollFactory(districts=[JONGNO]), report_count=1)

    fill(1)
    with django_assert_num_queries(QUERIES):
        assert client.get(HOME).status_code == 200
    fill(6)
    with django_assert_num_queries(QUERIES):
        assert client.get(HOME).status_code == 200


# The user, their permissions (own, groups'), the polls panel, the proposals panel, the comments
# panel, the jurisdiction's name, the recent-actions sidebar.
QUERIES = 8
