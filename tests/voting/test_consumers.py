"""The live tally stream, through the real ASGI application and channel layer.

A ballot publishes nothing: it is sealed, and totals move only when the counter counts a batch of
at least k (``BALLOT_BATCH_MIN``) ballots; the counter publishes the snapshot after that batch
commits. The tests run the counter's own code (tests/ballot_box.py ``count_now``) where it would
run, and watch what reaches a connected dashboard.
"""

import asyncio
import itertools
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import transaction

from tests.ballot_box import assert_box_consistent, cast_many, close_and_count, count_now
from tests.conftest import make_session_token, pass_second_factor
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from voting import casting, live, services, tickets
from voting.models import BoardEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _fresh_layer_and_relay():
    channel_layers.backends.clear()
    yield
    live.stop_all()
    channel_layers.backends.clear()


@database_sync_to_async
def _cookie_for(user) -> bytes:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    # As the admin's login leaves it: password and second factor (accounts/officials_auth.py).
    pass_second_factor(store, user)
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def _communicator(poll_id: int, *, user=None, query: str = "") -> WebsocketCommunicator:
    from config.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        headers.append((b"cookie", await _cookie_for(user)))
    path = f"/ws/polls/{poll_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


@database_sync_to_async
def _setup(poll_districts=(), official_jurisdiction=None):
    poll = PollFactory(districts=list(poll_districts), options=["A", "B"])
    official = OfficialFactory(role="official", gu=official_jurisdiction)
    return poll, official, list(poll.options.values_list("pk", flat=True))


@database_sync_to_async
def _vote(poll, option_id, **citizen_fields):
    citizen = CitizenFactory(**citizen_fields)
    return casting.cast_ballot(poll=poll, voter=citizen, option_ids=[option_id])


_cast_many = database_sync_to_async(cast_many)
_count_now = database_sync_to_async(count_now)


def _k() -> int:
    return settings.BALLOT_BATCH_MIN


async def _drain(communicator) -> list[dict]:
    """Every message that arrives until none has for a second."""
    messages = []
    # (A receive that times out cancels the application, so ask first whether anything waits.)
    while not await communicator.receive_nothing(timeout=1):
        messages.append(await communicator.receive_json_from())
    return messages


async def test_anonymous_is_refused_at_the_handshake():
    poll, _official_user, _ = await _setup()
    connected, _code = await (await _communicator(poll.pk)).connect()
    assert not connected


@pytest.mark.parametrize(
    "path", ["/ws/polls/abc/", "/ws/polls/12", "/ws/polls/1234567890123456789/", "/ws/", "/x"]
)
async def test_a_path_that_names_no_poll_is_refused_at_the_handshake_like_any_other(path):
    """An app with a typo gets the protocol's one refusal (403), not a server error."""
    from config.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _code = await communicator.connect()
    assert not connected
    # End the refusing consumer's task: left waiting, it can hold up the event loop's teardown.
    await communicator.disconnect()


async def test_citizen_is_refused():
    poll, _official_user, _ = await _setup()
    citizen = await database_sync_to_async(CitizenFactory)()
    connected, _code = await (await _communicator(poll.pk, user=citizen)).connect()
    assert not connected


async def test_official_of_another_gu_is_refused_and_own_gu_admitted():
    poll, outsider, _ = await _setup(poll_districts=[JONGNO], official_jurisdiction=GANGNAM)
    connected, _ = await (await _communicator(poll.pk, user=outsider)).connect()
    assert not connected

    insider = await database_sync_to_async(OfficialFactory)(role="official", gu=JONGNO)
    communicator = await _communicator(poll.pk, user=insider)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_staff_without_the_official_role_is_refused():
    poll, _official_user, _ = await _setup()
    bare_staff = await database_sync_to_async(OfficialFactory)()
    connected, _ = await (await _communicator(poll.pk, user=bare_staff)).connect()
    assert not connected


async def _counted_poll(k: int):
    """A poll whose first batch (k of 2k) is counted, and an official who may watch it."""
    poll, official, (a, b) = await _setup()
    await _cast_many(poll, 2 * k, lambda i: [a] if i % 2 == 0 else [b])
    assert await _count_now() == k
    return poll, official, (a, b)


async def test_a_dashboard_opened_before_the_first_batch_gets_the_first_total():
    """Connected before anything is counted: the snapshot says why there is no total; the
    update comes when the counter commits the first batch, and carries exactly that batch."""
    poll, official, (a, b) = await _setup()
    k = _k()
    await _cast_many(poll, 2 * k - 1, lambda i: [a] if i % 2 == 0 else [b])
    communicator = await _communicator(poll.pk, user=official)
    connected, _ = await communicator.connect()
    assert connected

    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "tally"
    assert snapshot["poll"] == poll.pk
    assert snapshot["status"] == "open"
    assert (snapshot["total"], snapshot["withheld"]) == (None, True)
    assert snapshot["note"]
    assert {o["id"]: o["votes"] for o in snapshot["options"]} == {a: None, b: None}
    assert snapshot["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}

    await _cast_many(poll, 1, [b])
    assert await _count_now() == k

    # (Times out while the bug stands; a receive that times out ends the application.)
    update = await communicator.receive_json_from(timeout=5)
    assert (update["total"], update["withheld"], update["note"]) == (k, False, None)
    # The oldest k: a, b, a, b, ...
    assert {o["id"]: o["votes"] for o in update["options"]} == {a: (k + 1) // 2, b: k // 2}
    await communicator.disconnect()


async def test_snapshot_then_an_update_when_a_batch_is_counted():
    """The snapshot carries what is counted; the update comes when the counter commits the next
    batch, and carries exactly that batch more."""
    k = _k()
    poll, official, (a, b) = await _counted_poll(k)
    communicator = await _communicator(poll.pk, user=official)
    connected, _ = await communicator.connect()
    assert connected

    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "tally"
    assert snapshot["poll"] == poll.pk
    assert snapshot["status"] == "open"
    assert (snapshot["total"], snapshot["withheld"], snapshot["note"]) == (k, False, None)
    # The oldest k: a, b, a, b, ...
    assert {o["id"]: o["votes"] for o in snapshot["options"]} == {a: (k + 1) // 2, b: k // 2}
    # Breakdowns appear at the close.
    assert snapshot["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}

    await _cast_many(poll, k, [b])
    assert await _count_now() == k

    update = await communicator.receive_json_from(timeout=5)
    assert update["total"] == 2 * k
    assert {o["id"]: o["votes"] for o in update["options"]} == {
        a: (k + 1) // 2 + k // 2,
        b: k // 2 + (k + 1) // 2,
    }
    assert update["breakdown"] == {"gu": [], "age_band": [], "gender": [], "channel": []}
    await communicator.disconnect()


async def test_casting_ballots_without_counting_sends_the_dashboard_nothing():
    """A dashboard watching while 3k citizens vote, one after another, learns nothing from
    any single ballot: no tally message at all, on its socket or in the poll's group of the
    channel layer, until the counter counts."""
    k = _k()
    poll, official, (a, b) = await _counted_poll(k)
    communicator = await _communicator(poll.pk, user=official)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["total"] == k
    layer = channel_layers["default"]
    inbox = await layer.new_channel()
    await layer.group_add(live.group_name(poll.pk), inbox)

    for i in range(3 * k):
        await _vote(poll, a if i % 3 else b)

    assert await _drain(communicator) == []
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(inbox), timeout=0.5)
    # The socket was listening all along: the next batch does arrive.
    assert await _count_now() == 3 * k
    assert (await communicator.receive_json_from(timeout=5))["total"] == 4 * k
    await communicator.disconnect()


async def test_no_update_after_a_rolled_back_count():
    k = _k()
    poll, official, (a, _b) = await _counted_poll(k)
    await _cast_many(poll, k, [a])
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["total"] == k

    @database_sync_to_async
    def count_and_roll_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            assert count_now() == k
            raise RuntimeError("rolled back after the batch")

    await count_and_roll_back()
    assert await communicator.receive_nothing(timeout=0.5)

    # The batch was not lost: counted again, it is published once it commits.
    assert await _count_now() == k
    assert (await communicator.receive_json_from(timeout=5))["total"] == 2 * k
    await communicator.disconnect()


async def test_burst_of_batches_is_coalesced_and_ends_on_the_latest_state(settings):
    """The counter catching up on a backlog commits batch after batch: the dashboard gets fewer
    messages than batches, every change of the total is none or a sum of at least k, and the
    last message carries the latest state."""
    k = _k()
    settings.BALLOT_BATCH_MAX = 2 * k  # small batches, many of them
    poll, official, (a, _b) = await _counted_poll(k)
    await _cast_many(poll, 20 * k, [a])
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["total"] == k

    counted = await _count_now()
    messages = await _drain(communicator)

    batches = await database_sync_to_async(BoardEntry.objects.filter(poll=poll).count)()
    assert (counted, batches) == (20 * k, 1 + 10)
    assert messages, "no update arrived"
    assert messages[-1]["total"] == k + counted  # the last state always arrives
    totals = [k] + [m["total"] for m in messages]
    changes = [later - earlier for earlier, later in itertools.pairwise(totals)]
    assert all(change == 0 or change >= k for change in changes), totals
    assert len(messages) < 10  # coalesced, not one per batch
    await communicator.disconnect()
    await database_sync_to_async(assert_box_consistent)([poll.pk])


async def test_status_change_is_pushed():
    poll, official, _ = await _setup()
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)

    await database_sync_to_async(services.close_poll)(poll=poll, by=official)

    update = await communicator.receive_json_from(timeout=5)
    assert update["status"] == "closed"
    await communicator.disconnect()


async def test_app_ticket_opens_one_socket_once_for_one_poll():
    poll, official, _ = await _setup()
    other_poll = await database_sync_to_async(PollFactory)()

    @database_sync_to_async
    def ask_ticket(poll_id, user):
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_X_SESSION_TOKEN=make_session_token(user))
        return client.post("/api/v1/ws-tickets/", {"poll": poll_id}, format="json")

    response = await ask_ticket(poll.pk, official)
    assert response.status_code == 201
    ticket = response.json()["ticket"]
    assert response.json()["url"] == f"/ws/polls/{poll.pk}/?ticket={ticket}"

    communicator = await _communicator(poll.pk, query=f"ticket={ticket}")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()
    # Single use.
    connected, _ = await (await _communicator(poll.pk, query=f"ticket={ticket}")).connect()
    assert not connected
    # Bound to its poll.
    other = await database_sync_to_async(tickets.issue)(user_id=official.pk, poll_id=poll.pk)
    connected, _ = await (await _communicator(other_poll.pk, query=f"ticket={other}")).connect()
    assert not connected
    # Citizens get no ticket.
    citizen = await database_sync_to_async(CitizenFactory)()
    refused = await ask_ticket(poll.pk, citizen)
    assert refused.status_code == 403
    assert refused.json()["code"] == "dashboard_forbidden"


async def test_poll_closing_by_the_clock_is_pushed_without_any_action():
    poll, official, _ = await _setup()

    @database_sync_to_async
    def close_soon():
        from datetime import timedelta

        from django.utils import timezone

        type(poll).objects.filter(pk=poll.pk).update(
            closes_at=timezone.now() + timedelta(seconds=1)
        )

    await close_soon()
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["status"] == "open"

    update = await communicator.receive_json_from(timeout=5)

    assert update["status"] == "closed"
    await communicator.disconnect()


async def test_snapshot_labels_do_not_depend_on_the_builders_language():
    """Whoever builds the snapshot (a request in English, a socket in Korean), every dashboard
    gets the same message: the note of a poll with nothing counted, the cells of a final one."""
    from django.utils import translation

    poll, _official_user, (a, _b) = await _setup()
    final, _official_user, (final_a, _b) = await _setup()
    await _vote(poll, a, district_id=SAJIK)
    await _cast_many(final, _k(), [final_a], district_id=SAJIK, birth_year=1987)
    await database_sync_to_async(close_and_count)(final)

    @database_sync_to_async
    def build_in(poll_id, language):
        with translation.override(language):
            return live.snapshot(poll_id)

    assert (await build_in(poll.pk, "en"))["note"]
    assert await build_in(poll.pk, "en") == await build_in(poll.pk, "ko")
    assert (await build_in(final.pk, "en"))["breakdown"]["gu"][0]["name"]
    assert await build_in(final.pk, "en") == await build_in(final.pk, "ko")


@pytest.mark.redis
async def test_a_batch_counted_by_a_process_without_event_loop_reaches_dashboards(settings):
    """The counter service (``manage.py count_ballots``) has no event loop: it publishes from a
    background loop of its own, through Redis, to the dashboards' servers."""
    import os
    import threading

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": "test-wsgi-publish"},
        }
    }
    channel_layers.backends.clear()
    k = _k()
    poll, official, (a, _b) = await _counted_poll(k)
    await _cast_many(poll, k, [a])
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    assert (await communicator.receive_json_from(timeout=5))["total"] == k
    counted = []

    def count_like_the_counter_service():
        # A plain thread: no running loop, and not one asgiref started for us.
        from django.db import connection

        try:
            counted.append(count_now())
        finally:
            connection.close()

    thread = threading.Thread(target=count_like_the_counter_service)
    thread.start()
    await asyncio.get_running_loop().run_in_executor(None, thread.join)

    assert counted == [k]
    update = await communicator.receive_json_from(timeout=5)
    assert update["total"] == 2 * k
    await communicator.disconnect()


@pytest.mark.redis
async def test_processes_share_one_send_window_per_poll(settings):
    """Three processes' publishers marking one poll while the counter counts batch after batch:
    at most about one snapshot per window goes out overall (not one per process), and the last
    one carries the final state."""
    import os
    import time

    prefix = f"test-window-{time.monotonic_ns()}"
    settings.CHANNEL_LAYER_PREFIX = prefix
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": prefix},
        }
    }
    settings.REDIS_URL = os.environ["REDIS_URL"]
    channel_layers.backends.clear()
    poll, _official_user, (a, _b) = await _setup()
    k = _k()
    layer = channel_layers["default"]
    inbox = await layer.new_channel()
    await layer.group_add(live.group_name(poll.pk), inbox)
    loop = asyncio.get_running_loop()
    publishers = [live.Publisher(loop) for _ in range(3)]  # as three server processes would
    await _cast_many(poll, k, [a])  # the newest k always wait for the next batch

    started = loop.time()
    for _batch in range(10):
        await _cast_many(poll, k, [a])
        assert await _count_now() == k  # the counter publishes too, as a fourth process
        for publisher in publishers:
            publisher.mark(poll.pk)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.6)  # let the last windows close
    elapsed = loop.time() - started

    received = []
    while True:
        try:
            received.append(await asyncio.wait_for(layer.receive(inbox), timeout=0.3))
        except TimeoutError:
            break
    windows = elapsed / settings.LIVE_MIN_INTERVAL
    assert 1 <= len(received) <= windows + 3  # three processes would otherwise send 3x
    assert received[-1]["total"] == 10 * k
