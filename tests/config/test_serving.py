"""How requests are served under ASGI: nothing funnels the API through one sync thread."""

import json

import pytest
from channels.testing import HttpCommunicator
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from tests.conftest import make_session_token
from tests.factories import CitizenFactory, PollFactory


def test_every_middleware_runs_async():
    # One sync-only middleware would make Django run every view below it on the single sync
    # thread of the process (WhiteNoise's own middleware is sync-only: we use an async variant).
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


@pytest.fixture
def citizen_and_poll(transactional_db) -> tuple[str, int, int]:
    """A citizen's token, an open poll and one of its options, made here in the test's own
    thread: the async test's helper thread may hold a connection an earlier test killed
    (tests/config/test_database_down.py kills every connection of the test database), while this
    one is handed back first and the pool checks the one it gives out next."""
    connection.close()
    citizen = CitizenFactory()
    poll = PollFactory()
    return make_session_token(citizen), poll.pk, poll.options.first().pk


@pytest.mark.django_db(transaction=True)
async def test_api_views_run_on_worker_threads_end_to_end(settings, citizen_and_poll):
    from config.asgi import application

    settings.API_WORKER_THREADS = 2
    token, poll_pk, option = citizen_and_poll
    headers = [
        (b"host", b"testserver"),
        (b"x-session-token", token.encode()),
        (b"content-type", b"application/json"),
    ]

    body = json.dumps({"options": [option]}).encode()
    ballot = await HttpCommunicator(
        application,
        "POST",
        f"/api/v1/polls/{poll_pk}/ballots/",
        body=body,
        headers=[*headers, (b"content-length", str(len(body)).encode())],
    ).get_response(timeout=10)
    listing = await HttpCommunicator(
        application, "GET", "/api/v1/polls/", headers=headers
    ).get_response(timeout=10)

    assert ballot["status"] == 201, ballot["body"]
    assert listing["status"] == 200
    [item] = json.loads(listing["body"])["results"]
    assert item["has_voted"] is True
    # The ballot is sealed, not counted: participants move only by counted batches of k.
    assert item["participants"] == 0


@pytest.mark.django_db(transaction=True)
async def test_static_files_are_served_on_the_async_path():
    from asgiref.testing import ApplicationCommunicator

    from config.asgi import application

    path = "/static/voting/dashboard.js"
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:  # (a final body message may omit "body": ASGI allows it)
        chunk = await communicator.receive_output(10)
        body += chunk.get("body", b"")
        if not chunk.get("more_body"):
            break
    assert start["status"] == 200
    assert b"WebSocket" in body
