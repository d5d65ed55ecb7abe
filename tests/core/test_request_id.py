"""The request id: taken from the proxy when sane, made otherwise, answered in X-Request-ID and
written into every log line of the request — and the opt-in access log line."""

import io
import json
import logging
import re

import pytest
from channels.testing import HttpCommunicator

from core import request_id

pytestmark = pytest.mark.django_db

NGINX_ID = "3f2b8c1d9e7a4b6c8d0e1f2a3b4c5d6e"  # nginx's $request_id: 32 hex digits
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    """What the project's console handler (JSON formatter, scrubber, request-id filter) writes."""
    handler = next(h for h in logging.getLogger("django.request").handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def test_the_proxys_id_comes_back_in_the_answer(client):
    response = client.get("/livez", HTTP_X_REQUEST_ID=NGINX_ID)
    assert response["X-Request-ID"] == NGINX_ID


def test_without_one_an_id_is_made(client):
    first = client.get("/api/v1/polls/")["X-Request-ID"]
    second = client.get("/api/v1/polls/")["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    "bad",
    [
        "short",
        "x" * 65,
        'abc"def\n{"level":"CRITICAL"}',
        "abcdefgh ijk",
        "01012345678",  # a phone number dressed as an id
        "+821012345678",
        "id-with-ünïcode",
    ],
)
def test_an_insane_id_is_replaced(client, bad):
    answered = client.get("/livez", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
    assert answered != bad
    assert GENERATED.fullmatch(answered)


@pytest.mark.parametrize(
    "good", [NGINX_ID, "0b7e5d2c-8a1f-4c3e-9d6b-2f4a1e8c7b90", "01HF8ZQ3K9V7X2M4N6P8R0T2W4"]
)
def test_common_id_formats_are_kept(good):
    assert request_id.accept_or_make(good) == good


def test_the_id_is_in_the_requests_log_lines(client, log_lines):
    # An unknown API path: Django logs a warning for the 404 inside the request.
    response = client.get("/api/v1/nothing-here/", HTTP_X_REQUEST_ID=NGINX_ID)
    assert response.status_code == 404
    lines = [line for line in log_lines() if line["logger"] == "django.request"]
    assert lines, "the 404 was not logged"
    assert all(line["request_id"] == NGINX_ID for line in lines)


def test_outside_a_request_there_is_no_id(log_lines):
    logging.getLogger("django.request").warning("not in a request")
    (line,) = log_lines()
    assert "request_id" not in line


def test_access_log_is_off_by_default(client, log_lines):
    client.get("/api/v1/polls/")
    assert not [line for line in log_lines() if line["logger"] == "mvoting.access"]


def test_access_log_line_has_route_status_duration_and_id_only(settings, log_lines, client_for):
    settings.ACCESS_LOG = True
    from tests.factories import CitizenFactory, PollFactory

    citizen = CitizenFactory(phone="+821055512345")
    poll = PollFactory()
    api = client_for(citizen)
    response = api.get(
        f"/api/v1/polls/{poll.pk}/?secret=shh",
        HTTP_X_REQUEST_ID=NGINX_ID,
        REMOTE_ADDR="198.51.100.23",
    )
    assert response.status_code == 200
    (line,) = [line for line in log_lines() if line["logger"] == "mvoting.access"]
    assert line["request_id"] == NGINX_ID
    assert line["method"] == "GET"
    assert line["route"] == "api/v1/polls/<id:poll_id>/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float | int)
    text = json.dumps(line)
    for private in ("shh", "198.51.100.23", "55512345", "X-Session", "user"):
        assert private not in text
    assert api._credentials["HTTP_X_SESSION_TOKEN"] not in text


async def test_the_id_round_trips_under_asgi_too():
    from config.asgi import application

    communicator = HttpCommunicator(
        application,
        "GET",
        "/livez",
        headers=[(b"host", b"testserver"), (b"x-request-id", NGINX_ID.encode())],
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 200
    assert (b"x-request-id", NGINX_ID.encode()) in [
        (name.lower(), value) for name, value in response["headers"]
    ]


def test_a_log_line_from_an_offloaded_thread_keeps_the_id():
    """asgiref copies the context into sync_to_async's threads: the id follows the view there."""
    from asgiref.sync import async_to_sync, sync_to_async

    seen: list[str | None] = []

    async def handler() -> None:
        token = request_id.set_current(NGINX_ID)
        try:
            await sync_to_async(lambda: seen.append(request_id.current()), thread_sensitive=False)()
        finally:
            request_id.reset(token)

    async_to_sync(handler)()
    assert seen == [NGINX_ID]
    assert request_id.current() is None
