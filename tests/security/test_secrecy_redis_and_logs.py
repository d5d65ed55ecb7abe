"""The secret ballot against whoever watches Redis or reads the logs (docs/secret-ballot.md,
"Threat model").

The Redis watcher runs MONITOR — every command any client sends, with its arguments — while
citizens vote through the real API one at a time and the counter counts after each ballot; a
channel of their own sits in the poll's live group, receiving whatever is published. The log
reader gets every record of every logger at DEBUG. Citizens have identities that occur nowhere
else (ids, phones, addresses), so finding one is finding that citizen.

What must hold: no Redis command names a citizen (id, phone, session token, address, receipt, or
a plain hash of any of them: rate-limit keys are HMACs per window, voting/throttling.py); nothing
goes over the channel layer between a ballot and the next counted batch, so no message follows a
ballot; tally messages follow batches only; no log line carries a citizen's identity with a poll
or a choice, and the counter's lines carry no identity at all.
"""

import asyncio
import hashlib
import json
import logging
import re
import secrets
import threading
import uuid
from dataclasses import dataclass

import pytest
import redis
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.conf import settings
from rest_framework.test import APIClient

from config.logging import JSONFormatter, RedactPersonalData
from tests.ballot_box import close_and_count, count_now
from tests.conftest import make_session_token
from tests.factories import CitizenFactory
from tests.security.secrecy import profile, quiet_poll
from voting import counting, live, receipts

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def k() -> int:
    return counting.k()


@dataclass
class Citizen:
    """A citizen whose every identifier is unique to this test run."""

    user_id: int
    phone: str
    token: str
    ip: str
    client: APIClient
    receipt: str = ""

    def identities(self) -> list[str]:
        """What names this citizen, in clear and as a plain SHA-256 (a watcher hashes guesses)."""
        clear = [str(self.user_id), self.phone, self.phone.lstrip("+"), self.token, self.ip]
        return clear + [hashlib.sha256(value.encode()).hexdigest() for value in clear]

    def receipt_forms(self) -> list[str]:
        if not self.receipt:
            return []
        return [
            self.receipt,
            receipts.normalise(self.receipt),
            receipts.tracker(self.receipt),
            receipts.envelope_lookup(self.receipt),
        ]


def make_citizens(n: int) -> list[Citizen]:
    base_id = 7_000_000_000_000 + secrets.randbelow(10**11) * 100
    base_phone = 10_000_000 + secrets.randbelow(80_000_000)
    citizens = []
    for i in range(n):
        user = CitizenFactory(id=base_id + i, phone=f"+8219{base_phone + i:08d}", **profile(i))
        token = make_session_token(user)
        client = APIClient()
        client.credentials(HTTP_X_SESSION_TOKEN=token)
        ip = f"198.51.100.{100 + i}"  # TEST-NET-2: no one else's address
        citizens.append(Citizen(user.pk, user.phone, token, ip, client))
    return citizens


def vote(citizen: Citizen, poll, option_id: int, *, expect: int = 201) -> None:
    response = citizen.client.post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [option_id]},
        format="json",
        REMOTE_ADDR=citizen.ip,
        HTTP_IDEMPOTENCY_KEY=f"idem-{uuid.uuid4()}",
    )
    assert response.status_code == expect, response.content
    if expect == 201:
        citizen.receipt = response.json()["receipt"]


# --- Redis --------------------------------------------------------------------------------------


class Monitor:
    """``MONITOR`` on a connection of its own, read on a thread; ``mark`` drops a labelled
    ECHO into the stream, so what happened between two moments can be told apart."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.token = f"mark-{uuid.uuid4().hex}"
        self.entries: list[dict] = []
        self.marker = redis.Redis.from_url(url)
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with redis.Redis.from_url(self.url).monitor() as monitor:
            self.ready.set()
            for entry in monitor.listen():
                self.entries.append(entry)
                if f"{self.token} stop" in entry["command"]:
                    return

    def __enter__(self) -> "Monitor":
        self.thread.start()
        assert self.ready.wait(10), "MONITOR did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.mark("stop")
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.marker.close()

    def mark(self, label: str) -> None:
        self.marker.echo(f"{self.token} {label}")

    def segments(self) -> list[tuple[str, list[str]]]:
        """The commands between consecutive marks, each list labelled by the mark before it."""
        out: list[tuple[str, list[str]]] = [("start", [])]
        for entry in self.entries:
            command = entry["command"]
            if self.token in command:
                out.append((command.split(self.token, 1)[1].strip(' "'), []))
            else:
                out[-1][1].append(command)
        return out


def _channel_layer_traffic(command: str) -> bool:
    """A command of the channel layer (groups, channels, the live send window) of this run."""
    prefix = settings.CHANNEL_LAYER_PREFIX
    return re.search(rf"{re.escape(prefix)}(?!-celery)", command) is not None


async def test_redis_watcher_sees_no_identity_and_no_message_per_ballot():
    """Attacker: someone running MONITOR on Redis while citizens vote one at a time, with a
    channel of their own in the poll's live group.

    Must hold: no command carries a citizen's id, phone, session token, address or receipt, in
    clear or as a plain SHA-256 — the ballot rate limits are there (the monitor sees them) under
    opaque keys; no channel-layer command at all between a ballot and the next counted batch;
    the live group is sent one tally per counted batch and nothing else."""
    channel_layers.backends.clear()
    poll, options = await database_sync_to_async(quiet_poll)(results_visibility="live")
    citizens = await database_sync_to_async(make_citizens)(3 * k() + k() // 2 + 1)
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)  # the watcher's own client
    inbox = await layer.new_channel()
    await layer.group_add(live.group_name(poll.pk), inbox)
    received, batches = [], []
    try:
        with Monitor(settings.REDIS_URL) as monitor:
            for i, citizen in enumerate(citizens):
                monitor.mark(f"vote {i}")
                await database_sync_to_async(vote)(citizen, poll, options[i % len(options)])
                monitor.mark(f"count {i}")
                counted = await database_sync_to_async(count_now)()
                if counted:
                    batches.append(counted)
                    received.append(await asyncio.wait_for(layer.receive(inbox), timeout=10))
                    monitor.mark(f"published {i}")
            monitor.mark("close")
            batches.append(await database_sync_to_async(close_and_count)(poll))
            received.append(await asyncio.wait_for(layer.receive(inbox), timeout=10))
            monitor.mark("published close")
            await asyncio.sleep(0.5)  # anything sent late still falls inside the watch
            monitor.mark("quiet")
        leftover = []
        while True:
            try:
                leftover.append(await asyncio.wait_for(layer.receive(inbox), timeout=0.5))
            except TimeoutError:
                break
    finally:
        await layer.group_discard(live.group_name(poll.pk), inbox)
        channel_layers.backends.clear()

    segments = monitor.segments()
    every = [command for _label, commands in segments for command in commands]
    named = [
        (value, command)
        for citizen in citizens
        for value in citizen.identities() + citizen.receipt_forms()
        for command in every
        if value in command
    ]
    assert named == [], named[:3]
    # The monitor saw each ballot: its rate-limit counters, under this test's cache prefix.
    throttled = f"{settings.CACHES['default']['KEY_PREFIX']}:1:ballot-throttle:"
    votes = [commands for label, commands in segments if label.startswith("vote ")]
    assert len(votes) == len(citizens)
    assert all(any(throttled in command for command in commands) for commands in votes)
    # The channel layer is used only between a counted batch and its delivery.
    publishing = [
        label
        for label, commands in segments
        if any(_channel_layer_traffic(command) for command in commands)
    ]
    counted_at = {f"count {i}" for i in range(len(citizens))} | {"close"}
    assert publishing, "no channel-layer traffic seen: the watch would be vacuous"
    assert set(publishing) <= counted_at, publishing
    assert len(publishing) == len(batches)
    assert leftover == []
    # What was published: one tally per batch, each the running total, never fewer than k.
    running = [sum(batches[: n + 1]) for n in range(len(batches))]
    assert [message["type"] for message in received] == ["tally"] * len(batches)
    assert [message["total"] for message in received] == running
    assert all(size >= k() for size in batches)
    assert sum(batches) == len(citizens)


# --- Logs ----------------------------------------------------------------------------------------


class Capture(logging.Handler):
    """Every record of every logger, at DEBUG — those that do not propagate to the root too."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> "Capture":
        self.saved = []
        loggers = [logging.getLogger()] + [
            logger
            for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ]
        for logger in loggers:
            self.saved.append((logger, logger.level, logger.disabled))
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            if logger is loggers[0] or not logger.propagate:
                logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        for logger, level, disabled in self.saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.removeHandler(self)

    def lines(self, since: int = 0) -> list[str]:
        """Each record as it would be written (the project's JSON line, before redaction) and
        its raw message with any exception text: the stricter of the two is what is checked."""
        out = []
        formatter = JSONFormatter()
        for record in self.records[since:]:
            raw = record.getMessage()
            if record.exc_info:
                raw += "\n" + logging.Formatter().formatException(record.exc_info)
            out.append(formatter.format(record) + "\n" + raw)
        return out


def test_log_lines_never_tie_a_citizen_to_a_poll_or_a_choice():
    """Attacker: someone who reads every log line of every logger at DEBUG, while citizens vote
    one at a time (some refused: twice, or with an invalid choice) and the counter counts.

    Must hold: no line carries a citizen's identity (id, phone, session token, address) together
    with the poll or a choice; the counter's lines carry no identity at all — not even a receipt
    or a hash of one."""
    poll, options = quiet_poll(results_visibility="live")
    citizens = make_citizens(2 * k() + k() // 2)
    counter_lines: list[str] = []
    with Capture() as capture:
        for i, citizen in enumerate(citizens):
            vote(citizen, poll, options[i % len(options)])
            if i % 7 == 0:
                vote(citizen, poll, options[0], expect=409)  # a second ballot: refused
            if i % 11 == 0:
                vote(citizen, poll, options[0] + 999, expect=400)  # not an option of the poll
            since = len(capture.records)
            count_now()
            counter_lines += capture.lines(since)
        since = len(capture.records)
        close_and_count(poll)
        counter_lines += capture.lines(since)
        lines = capture.lines()
    assert any("counted a batch" in line for line in counter_lines)  # the counter was heard
    assert any("ballots/" in line for line in lines)  # the refusals were logged
    about_the_poll = [str(poll.pk), poll.title, *map(str, options)]
    for citizen in citizens:
        identities = [str(citizen.user_id), citizen.phone, citizen.token, citizen.ip]
        for line in lines:
            if any(value in line for value in identities):
                assert not [
                    text for text in about_the_poll if re.search(rf"\b{re.escape(text)}\b", line)
                ], line
        secret = citizen.identities() + citizen.receipt_forms()
        for line in counter_lines:
            assert not [value for value in secret if value in line], line
    # What the project writes is one JSON line each, redacted: it parses, and names no phone.
    redact = RedactPersonalData()
    for record in capture.records:
        redact.filter(record)
        entry = json.loads(JSONFormatter().format(record))
        assert not any(citizen.phone in entry["message"] for citizen in citizens)
