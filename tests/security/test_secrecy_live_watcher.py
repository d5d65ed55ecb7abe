"""The secret ballot against a watcher of live totals (docs/secret-ballot.md, "Threat model").

The watcher sees every number the system shows while a ``live`` poll runs: an official's
dashboard socket (through the real ASGI application and channel layer, opened with an app
ticket) refreshed after every single ballot, every message the channel layer carries to the
dashboards, and the citizens' results API, asked after every single ballot; for a poll below k,
also the admin's results page and CSV and the dashboard page. Citizens vote one at a time and the
counter runs after each ballot, as the counter service polling every COUNT_INTERVAL would: the
watcher's best chance to see one ballot move a number.

What must hold: every number moves only in whole counted batches of at least k ballots — no
total before k are counted ("withheld"), every change of a total 0 or at least k (the last one at
close too), no option's votes moving without such a change, no breakdown until the poll is final;
and a poll whose whole turnout stays below k shows no number anywhere, ever.
"""

import asyncio
import csv
import io
import itertools
import json
import re

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from tests.ballot_box import close_and_count, count_now
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from tests.security.secrecy import profile
from voting import counting, live

pytestmark = pytest.mark.django_db(transaction=True)

DIMENSIONS = ("gu", "age_band", "gender")


def k() -> int:
    return counting.k()


@pytest.fixture(autouse=True)
async def _fresh_layer_and_relay():
    channel_layers.backends.clear()
    yield
    live.stop_all()
    channel_layers.backends.clear()


async def _ticket(official_api, poll_id: int) -> str:
    @database_sync_to_async
    def ask() -> str:
        response = official_api.post("/api/v1/ws-tickets/", {"poll": poll_id}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["ticket"]

    return await ask()


class Dashboard:
    """An official's dashboard socket, opened with an app ticket; records every frame."""

    def __init__(self, poll, official_api) -> None:
        self.poll = poll
        self.official_api = official_api
        self.frames: list[dict] = []
        self.socket: WebsocketCommunicator | None = None

    async def open(self) -> None:
        from config.asgi import application

        ticket = await _ticket(self.official_api, self.poll.pk)
        self.socket = WebsocketCommunicator(
            application,
            f"/ws/polls/{self.poll.pk}/?ticket={ticket}",
            headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")],
        )
        connected, _code = await self.socket.connect()
        assert connected
        self.frames.append(await self.socket.receive_json_from(timeout=5))

    async def look(self, *, refresh: bool = True, quiet: float = 0.15) -> None:
        """Ask for a fresh snapshot (as a dashboard waking up does) and keep whatever arrives."""
        if refresh:
            await self.socket.send_json_to({"type": "refresh"})
            self.frames.append(await self.socket.receive_json_from(timeout=10))
        # (A receive that times out cancels the application: ask first whether anything waits.)
        while not await self.socket.receive_nothing(timeout=quiet):
            self.frames.append(await self.socket.receive_json_from())

    async def until(self, done) -> None:
        """Keep every frame until one satisfies ``done`` (which must come: the test fails if not
        within 10 s), then whatever follows shortly."""
        while not (self.frames and done(self.frames[-1])):
            self.frames.append(await self.socket.receive_json_from(timeout=10))
        await self.look(refresh=False)

    async def close(self) -> None:
        await self.socket.disconnect()


class Published:
    """A channel in the poll's live group: every message published to the dashboards, as the
    channel layer carries it. On Redis the channel is on a client of its own, as another server
    process's relay would be; the in-memory layer exists once per process, so it is that one."""

    def __init__(self, poll) -> None:
        self.poll = poll
        self.messages: list[dict] = []

    async def join(self) -> None:
        self.layer = get_channel_layer()
        if not isinstance(self.layer, InMemoryChannelLayer):
            self.layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(live.group_name(self.poll.pk), self.channel)

    async def leave(self) -> None:
        await self.layer.group_discard(live.group_name(self.poll.pk), self.channel)

    async def look(self, quiet: float = 0.15) -> None:
        while True:
            try:
                message = await asyncio.wait_for(self.layer.receive(self.channel), timeout=quiet)
            except TimeoutError:
                return
            self.messages.append(message)

    async def until(self, done) -> None:
        """Keep every message until one satisfies ``done`` (within 10 s), then what follows."""
        while not (self.messages and done(self.messages[-1])):
            self.messages.append(
                await asyncio.wait_for(self.layer.receive(self.channel), timeout=10)
            )
        await self.look()


@pytest.fixture
async def listen():
    """``await listen(poll)``: a Published listener, which leaves the group after the test."""
    joined: list[Published] = []

    async def join(poll) -> Published:
        published = Published(poll)
        await published.join()
        joined.append(published)
        return published

    yield join
    for published in joined:
        await published.leave()


def _results_of(api, poll):
    @database_sync_to_async
    def ask() -> dict:
        response = api.get(f"/api/v1/polls/{poll.pk}/results/")
        assert response.status_code == 200, response.content
        return response.json()

    return ask()


@database_sync_to_async
def _live_poll(client_for, labels=("A", "B", "C")):
    poll = PollFactory(options=list(labels), results_visibility="live")
    official = OfficialFactory(role="official")
    options = list(poll.options.order_by("position").values_list("pk", flat=True))
    return poll, options, client_for(official), client_for(CitizenFactory()), official


@database_sync_to_async
def _vote_then_count(client_for, poll, i: int, option_id: int) -> int:
    """The i-th citizen votes through the API; then one round of the counter: what it counted."""
    response = client_for(CitizenFactory(**profile(i))).post(
        f"/api/v1/polls/{poll.pk}/ballots/", {"options": [option_id]}, format="json"
    )
    assert response.status_code == 201, response.content
    return count_now()


def _numbers(document: dict) -> tuple[int, dict[int, int]]:
    """(total, votes per option) as a watcher reads them; withheld numbers count as 0."""
    votes = {option["id"]: option["votes"] or 0 for option in document["options"]}
    return document["total"] or 0, votes


def assert_moves_only_in_batches(documents: list[dict], where: str) -> None:
    """Between any two consecutive documents a watcher saw: the total moved by 0 or at least k,
    and no option's votes moved unless the total did (by at least k, as a whole batch)."""
    for before, after in itertools.pairwise(documents):
        (total_before, votes_before), (total_after, votes_after) = (
            _numbers(before),
            _numbers(after),
        )
        change = total_after - total_before
        assert change == 0 or change >= k(), (where, total_before, total_after)
        moved = {o: votes_after[o] - votes_before[o] for o in votes_after}
        assert all(n >= 0 for n in moved.values()), (where, moved)
        if any(moved.values()):
            assert change >= k(), (where, moved, change)
            assert sum(moved.values()) == change  # single choice: a batch's votes are its ballots


def assert_shows_only_counted_batches(document: dict, where: str) -> None:
    """No total until k are counted; then no number that is not a sum of counted batches."""
    if document["withheld"]:
        assert document["total"] is None, where
        assert all(o["votes"] is None and o["share"] is None for o in document["options"]), where
    else:
        assert document["total"] >= k(), (where, document["total"])


async def test_live_watcher_sees_totals_move_only_in_batches_of_at_least_k(client_for, listen):
    """Attacker: an official watching a quiet live poll — a dashboard socket, refreshed after
    every single ballot, and everything the channel layer publishes to dashboards — and a citizen
    asking its results after every single ballot, each ballot followed by a counter round.

    Must hold: totals withheld until k ballots are counted; every change of the total — on the
    socket, on the channel layer, in the API — is 0 or at least k, the last one at close included;
    option votes move only with such a change; breakdowns stay empty until the poll is final, then
    list only cells of at least k; the totals seen are exactly the board's running sums, and the
    API after each ballot shows exactly what was counted by then."""
    poll, options, official_api, citizen_api, _official = await _live_poll(client_for)
    published = await listen(poll)
    dashboard = Dashboard(poll, official_api)
    await dashboard.open()  # before the first ballot: the withheld snapshot
    answers: list[dict] = []
    citizens = 3 * k() + k() // 2 + 1  # batches of k, k, then the rest at close (k to 2k)
    counted = []
    for i in range(citizens):
        counted.append(await _vote_then_count(client_for, poll, i, options[i % len(options)]))
        answers.append(await _results_of(citizen_api, poll))
        await published.look()
        await dashboard.look()
    while_open = {
        "socket": len(dashboard.frames),
        "layer": len(published.messages),
        "api": len(answers),
    }
    await database_sync_to_async(close_and_count)(poll)
    answers.append(await _results_of(citizen_api, poll))

    def final(document: dict) -> bool:
        return document["status"] == "closed" and document["total"] == citizens

    await published.until(final)
    await dashboard.look()
    await dashboard.until(final)
    await dashboard.close()

    sums = set(itertools.accumulate(counted))
    surfaces = {
        "socket": dashboard.frames,
        "layer": published.messages,
        "api": answers,
    }
    assert published.messages, "nothing was published: the layer's check would be vacuous"
    for where, documents in surfaces.items():
        assert documents[-1]["status"] == "closed", where
        assert documents[-1]["total"] == citizens, where
        for document in documents:
            assert_shows_only_counted_batches(document, where)
            assert (document["total"] or 0) in {0, citizens} | sums, (where, document["total"])
        assert_moves_only_in_batches(documents, where)
        assert any(not document["withheld"] for document in documents[: while_open[where]])
        # Breakdowns: empty until the poll is final (its last batch and the breakdown are one
        # transaction: the documents with every ballot counted); then only cells of at least k.
        for document in documents:
            cells = [cell for dimension in DIMENSIONS for cell in document["breakdown"][dimension]]
            if document["total"] == citizens:
                assert cells, where  # the breakdown was published, so the check below bites
                assert all(cell["total"] >= k() for cell in cells), (where, cells)
            else:
                assert cells == [], (where, document["status"], document["total"])
    assert surfaces["socket"][0]["withheld"] and surfaces["api"][0]["withheld"]
    # Nothing is published for a ballot: one message per batch at most (the close's included).
    assert len(published.messages) <= len([n for n in counted if n]) + 1
    # After every single ballot the API answered exactly what had been counted by then.
    for answer, so_far in zip(answers, itertools.accumulate(counted), strict=False):
        assert (answer["total"] or 0) == so_far
    assert sum(counted) == 2 * k()  # the counter kept the newest k while the poll was open


_NUMBER = re.compile(r"^\s*\d[\d,.]*\s*%?\s*$")


@database_sync_to_async
def _officials_pages(poll, official) -> tuple[str, list[list[str]], dict]:
    """The admin's results page, its CSV, and the snapshot the live dashboard page embeds."""
    browser = Client()
    browser.force_login(official)
    page = browser.get(reverse("admin:voting_poll_results", args=[poll.pk]))
    assert page.status_code == 200
    export = browser.get(reverse("admin:voting_poll_results_csv", args=[poll.pk]))
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    dashboard = browser.get(reverse("voting_dashboard:poll", args=[poll.pk]))
    assert dashboard.status_code == 200
    embedded = re.search(
        r'<script id="dashboard-snapshots" type="application/json">(.*?)</script>',
        dashboard.content.decode(),
        re.S,
    ).group(1)
    return page.content.decode(), rows, json.loads(embedded)[str(poll.pk)]


def assert_no_number_shown(document, html, rows, where) -> None:
    """Nothing derived from the ballots: no total, no votes, no shares, no breakdown cell."""
    assert document["withheld"] is True and document["total"] is None, where
    assert all(o["votes"] is None and o["share"] is None for o in document["options"]), where
    assert all(document["breakdown"][dimension] == [] for dimension in DIMENSIONS), where
    # The admin's page: the total is a dash, and no table cell holds a number.
    total = re.search(r'<dd id="results-total">(.*?)</dd>', html, re.S).group(1)
    assert total.strip().startswith("—"), (where, total)
    assert not re.findall(r"<td>\s*[\d.,]+\s*%?\s*</td>", html), where
    # The CSV: no cell is a number (the participants line carries the note instead).
    assert len(rows) > 5, rows
    numbers = [cell for row in rows for cell in row if _NUMBER.match(cell)]
    assert numbers == [], (where, numbers)


async def test_poll_whose_turnout_stays_below_k_never_shows_a_number(client_for, listen):
    """Attacker: a watcher of a live poll that only k - 1 citizens vote in — dashboards opened
    after every ballot, the dashboard page, the channel layer, the citizens' API, the officials'
    API, the admin's results page and its CSV, the board and the poll's page — before and after
    the close.

    Must hold: no number derived from the ballots, anywhere, ever: totals withheld, no votes, no
    shares, no breakdown cell, nothing on the board; nothing is counted at close either."""
    poll, options, official_api, citizen_api, official = await _live_poll(client_for)
    published = await listen(poll)
    frames, answers = [], []
    for i in range(k() - 1):
        assert await _vote_then_count(client_for, poll, i, options[i % len(options)]) == 0
        answers.append(await _results_of(citizen_api, poll))
        dashboard = Dashboard(poll, official_api)
        await dashboard.open()
        await dashboard.look(refresh=False, quiet=0.05)
        await dashboard.close()
        frames += dashboard.frames
    html, rows, embedded = await _officials_pages(poll, official)
    frames.append(embedded)
    assert_no_number_shown(answers[-1], html, rows, "open")
    assert_no_number_shown(await _results_of(official_api, poll), html, rows, "open, official")

    assert await database_sync_to_async(close_and_count)(poll) == 0
    await published.until(lambda message: message["status"] == "closed")  # final: published
    dashboard = Dashboard(poll, official_api)
    await dashboard.open()
    await dashboard.look(refresh=False, quiet=0.5)
    await dashboard.close()
    frames += dashboard.frames
    answers.append(await _results_of(citizen_api, poll))
    html, rows, embedded = await _officials_pages(poll, official)
    assert_no_number_shown(answers[-1], html, rows, "closed")
    assert_no_number_shown(await _results_of(official_api, poll), html, rows, "closed, official")

    assert frames[-1]["status"] == answers[-1]["status"] == embedded["status"] == "closed"
    frames.append(embedded)
    for where, documents in (("socket", frames), ("layer", published.messages), ("api", answers)):
        for document in documents:
            assert document["withheld"] is True and document["total"] is None, where
            assert all(o["votes"] is None and o["share"] is None for o in document["options"])
            assert all(document["breakdown"][dimension] == [] for dimension in DIMENSIONS)

    @database_sync_to_async
    def board_and_detail():
        board = citizen_api.get(f"/api/v1/polls/{poll.pk}/board/").json()
        detail = citizen_api.get(f"/api/v1/polls/{poll.pk}/").json()
        return board, detail

    board, detail = await board_and_detail()
    assert board["entries"] == [] and board["totals"] == {"ballots": 0, "options": {}}
    assert detail["participants"] == 0


async def test_a_dashboard_opened_while_totals_are_withheld_gets_the_first_batch(client_for):
    """Attacker: none — the watcher's own dashboard, opened on a poll before its first batch
    (it once stayed on "withheld" for good: a null total was compared with the first number).

    Must hold: when the first batch is counted, the open dashboard is sent its totals."""
    poll, options, official_api, _citizen_api, _official = await _live_poll(client_for)
    dashboard = Dashboard(poll, official_api)
    await dashboard.open()
    assert dashboard.frames[0]["withheld"]
    counted = 0
    for i in range(2 * k()):
        counted += await _vote_then_count(client_for, poll, i, options[i % len(options)])
    assert counted == k()
    try:
        assert not await dashboard.socket.receive_nothing(timeout=3), "no frame after the batch"
        assert (await dashboard.socket.receive_json_from())["total"] == k()
    finally:
        await dashboard.close()
