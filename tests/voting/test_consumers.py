"""The live tally stream, through the real ASGI application and channel layer."""

import asyncio
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group as AuthGroup
from django.db import transaction

from accounts.roles import ensure_official_group
from tests.conftest import make_session_token
from tests.factories import CitizenFactory, OfficialFactory, PollFactory
from voting import casting, live, services, tickets

pytestmark = pytest.mark.django_db(transaction=True)

JONGNO, GANGNAM = "1111000000", "1168000000"


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
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def _communicator(poll_id: int, *, user=None, query: str = "") -> WebsocketCommunicator:
    from config.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        headers.append((b"cookie", await _cookie_for(user)))
    path = f"/ws/polls/{poll_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


def _official(**fields):
    user = OfficialFactory(**fields)
    user.groups.add(AuthGroup.objects.get(name="official"))
    return user


@database_sync_to_async
def _setup(poll_districts=(), official_jurisdiction=None):
    ensure_official_group()
    poll = PollFactory(districts=list(poll_districts), options=["A", "B"])
    official = _official(jurisdiction_id=official_jurisdiction)
    return poll, official, list(poll.options.values_list("pk", flat=True))


@database_sync_to_async
def _vote(poll, option_id, **citizen_fields):
    citizen = CitizenFactory(**citizen_fields)
    return casting.cast_ballot(poll=poll, voter=citizen, option_ids=[option_id])


async def test_anonymous_is_refused_at_the_handshake():
    poll, _official_user, _ = await _setup()
    connected, _code = await (await _communicator(poll.pk)).connect()
    assert not connected


async def test_citizen_is_refused():
    poll, _official_user, _ = await _setup()
    citizen = await database_sync_to_async(CitizenFactory)()
    connected, _code = await (await _communicator(poll.pk, user=citizen)).connect()
    assert not connected


async def test_official_of_another_gu_is_refused_and_own_gu_admitted():
    poll, outsider, _ = await _setup(poll_districts=[JONGNO], official_jurisdiction=GANGNAM)
    connected, _ = await (await _communicator(poll.pk, user=outsider)).connect()
    assert not connected

    insider = await database_sync_to_async(_official)(jurisdiction_id=JONGNO)
    communicator = await _communicator(poll.pk, user=insider)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_staff_without_the_official_role_is_refused():
    poll, _official_user, _ = await _setup()
    bare_staff = await database_sync_to_async(OfficialFactory)()
    connected, _ = await (await _communicator(poll.pk, user=bare_staff)).connect()
    assert not connected


async def test_snapshot_then_update_after_commit():
    poll, official, (a, b) = await _setup()
    await _vote(poll, a)
    communicator = await _communicator(poll.pk, user=official)
    connected, _ = await communicator.connect()
    assert connected

    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "tally"
    assert snapshot["poll"] == poll.pk
    assert snapshot["status"] == "open"
    assert snapshot["total"] == 1
    assert {o["id"]: o["votes"] for o in snapshot["options"]} == {a: 1, b: 0}
    assert set(snapshot["breakdown"]) == {"gu", "age_band", "gender"}

    await _vote(poll, b)
    update = await communicator.receive_json_from(timeout=5)
    assert update["total"] == 2
    assert {o["id"]: o["votes"] for o in update["options"]} == {a: 1, b: 1}
    await communicator.disconnect()


async def test_no_update_after_a_rollback():
    poll, official, (a, _b) = await _setup()
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)

    @database_sync_to_async
    def vote_and_roll_back():
        citizen = CitizenFactory()
        with pytest.raises(RuntimeError), transaction.atomic():
            casting.cast_ballot(poll=poll, voter=citizen, option_ids=[a])
            raise RuntimeError("rolled back after the ballot")

    await vote_and_roll_back()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_burst_of_ballots_is_coalesced_and_ends_on_the_latest_state():
    poll, official, (a, _b) = await _setup()
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)

    @database_sync_to_async
    def burst(n):
        for _ in range(n):
            casting.cast_ballot(poll=poll, voter=CitizenFactory(), option_ids=[a])

    await burst(30)
    messages = []
    # (A receive that times out cancels the application, so ask first whether anything waits.)
    while not await communicator.receive_nothing(timeout=1):
        messages.append(await communicator.receive_json_from())
    assert messages, "no update arrived"
    assert len(messages) < 30  # coalesced, not one per ballot
    assert messages[-1]["total"] == 30  # and the last state always arrives
    await communicator.disconnect()


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
    from django.utils import translation

    poll, _official_user, (a, _b) = await _setup()
    await _vote(poll, a, district_id="1111053000")

    @database_sync_to_async
    def build_in(language):
        with translation.override(language):
            return live.snapshot(poll.pk)

    assert await build_in("en") == await build_in("ko")


@pytest.mark.redis
async def test_ballot_from_a_process_without_event_loop_reaches_dashboards(settings):
    """A WSGI worker has no event loop: it publishes from a background loop of its own."""
    import os
    import threading

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": "test-wsgi-publish"},
        }
    }
    channel_layers.backends.clear()
    poll, official, (a, _b) = await _setup()
    communicator = await _communicator(poll.pk, user=official)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)
    citizen = await database_sync_to_async(CitizenFactory)()

    def vote_like_a_wsgi_worker():
        # A plain thread: no running loop, and not one asgiref started for us.
        casting.cast_ballot(poll=poll, voter=citizen, option_ids=[a])
        from django.db import connection

        connection.close()

    thread = threading.Thread(target=vote_like_a_wsgi_worker)
    thread.start()
    await asyncio.get_running_loop().run_in_executor(None, thread.join)

    update = await communicator.receive_json_from(timeout=5)
    assert update["total"] == 1
    await communicator.disconnect()


@pytest.mark.redis
async def test_processes_share_one_send_window_per_poll(settings):
    """Three processes' publishers marking one poll: at most about one snapshot per window goes
    out overall (not one per process), and the last one carries the final state."""
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
    layer = channel_layers["default"]
    inbox = await layer.new_channel()
    await layer.group_add(live.group_name(poll.pk), inbox)
    loop = asyncio.get_running_loop()
    publishers = [live.Publisher(loop) for _ in range(3)]  # as three server processes would

    started = loop.time()
    for _ballot in range(10):
        await _vote(poll, a)
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
    assert received[-1]["total"] == 10
