"""The WebSocket protocol document (voting/asyncapi.yaml) is valid AsyncAPI 3.0 and is the code's.

- valid against the official AsyncAPI 3.0.0 JSON Schema, vendored offline
  (tests/voting/asyncapi_spec/SOURCE.md says where from);
- every frame a real ``PollTallyConsumer`` sends — driven through the project's ASGI application,
  as a dashboard or an app would — validates against the document's payload schemas, where every
  object says ``additionalProperties: false``: a field the code adds, renames or drops fails here;
- enums, the address, the refusal code and the ticket parameter are the code's;
- ``/api/asyncapi.yaml`` and ``/api/asyncapi.json`` serve it.
"""

import copy
import json
import re
import struct
from collections.abc import Iterator
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import yaml
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import Gender
from tests.ballot_box import cast_many, close_and_count, count_now
from tests.conftest import make_session_token, pass_second_factor
from tests.district_codes import JONGNO, SAJIK
from tests.factories import OfficialFactory, PollFactory
from tests.reliability.servers import WebSocketClient, running_servers, session_cookie
from voting import asyncapi, live
from voting.consumers import CLOSE_FORBIDDEN
from voting.models import Poll
from voting.routing import websocket_urlpatterns

SPEC = Path(__file__).parent / "asyncapi_spec" / "asyncapi-3.0.0.schema.json"
DOCUMENT_URI = "urn:mvoting:asyncapi"


def _document() -> dict[str, Any]:
    return yaml.safe_load(Path(asyncapi.__file__).with_name("asyncapi.yaml").read_text())


def _payload_validator(message: str) -> Draft7Validator:
    """A validator for one message's payload, its ``$ref``s resolved inside the document."""
    registry: Registry = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(_document(), default_specification=DRAFT7)
    )
    return Draft7Validator(
        {"$ref": f"{DOCUMENT_URI}#/components/messages/{message}/payload"},
        registry=registry,
        format_checker=FormatChecker(),
    )


def _assert_valid(message: str, frame: Any) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in _payload_validator(message).iter_errors(frame)]
    assert not errors, errors


def _object_schemas(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _object_schemas(value, f"{path}/{i}")


# --- the document itself -------------------------------------------------------------------------


def test_the_document_is_valid_asyncapi_3():
    spec = json.loads(SPEC.read_text())
    document = _document()
    assert document["asyncapi"] == "3.0.0"
    errors = [f"{e.json_path}: {e.message}" for e in Draft7Validator(spec).iter_errors(document)]
    assert not errors, errors


def test_the_validation_can_fail():
    """The vendored schema really checks nested parts (its definitions resolve offline)."""
    spec = Draft7Validator(json.loads(SPEC.read_text()))
    broken = copy.deepcopy(_document())
    broken["operations"]["sendTally"]["action"] = "publish"  # AsyncAPI 2's word
    assert not spec.is_valid(broken)
    broken = copy.deepcopy(_document())
    broken["channels"]["pollTally"]["parameters"]["poll_id"]["schema"] = {"type": "integer"}
    assert not spec.is_valid(broken)


def test_every_message_schema_is_closed():
    """``additionalProperties: false`` on every object of the payloads and the ticket's query, so
    a field the server adds without the document fails the frame tests below."""
    document = _document()
    objects = list(_object_schemas(document["components"]["schemas"], "#/components/schemas"))
    objects += list(_object_schemas(document["channels"]["pollTally"]["bindings"]["ws"]["query"]))
    assert len(objects) >= 9
    open_ones = [
        path for path, schema in objects if schema.get("additionalProperties") is not False
    ]
    assert open_ones == []


def test_enums_address_ticket_and_close_code_are_the_codes():
    document = _document()
    schemas = document["components"]["schemas"]
    assert set(schemas["Tally"]["properties"]["status"]["enum"]) == set(Poll.Status.values)
    assert set(schemas["GenderCell"]["properties"]["gender"]["enum"]) == {*Gender.values, "unknown"}

    address = document["channels"]["pollTally"]["address"]
    # The poll's route; the one after it refuses every other path.
    pattern = websocket_urlpatterns[0].pattern
    assert re.fullmatch(pattern.regex, address.replace("{poll_id}", "123456789012345678")[1:])
    assert not re.fullmatch(pattern.regex, address.replace("{poll_id}", "12a")[1:])
    assert (
        "[0-9]{1,18}" in document["channels"]["pollTally"]["parameters"]["poll_id"]["description"]
    )

    query = document["channels"]["pollTally"]["bindings"]["ws"]["query"]["properties"]
    assert query["ticket"]["maxLength"] == 100  # voting/tickets.py refuses longer ones unread
    schemes = document["components"]["securitySchemes"]
    assert (schemes["ticket"]["in"], schemes["ticket"]["name"]) == ("query", "ticket")
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == (
        "cookie",
        settings.SESSION_COOKIE_NAME,
    )
    description = document["info"]["description"]
    assert f"**{CLOSE_FORBIDDEN}**" in description
    assert "HTTP 403" in description
    assert "WS_TICKET_TTL" in description
    assert "X-Session-Token" in description


# --- what the consumer really sends ------------------------------------------------------------

transactional = pytest.mark.django_db(transaction=True)


@pytest.fixture
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
    pass_second_factor(store, user)
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def _browser(poll_id: int, user) -> WebsocketCommunicator:
    from config.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    headers.append((b"cookie", await _cookie_for(user)))
    return WebsocketCommunicator(application, f"/ws/polls/{poll_id}/", headers=headers)


async def _app(poll_id: int, ticket: str) -> WebsocketCommunicator:
    from config.asgi import application

    # A native app: no Origin, no cookie.
    path = f"/ws/polls/{poll_id}/?ticket={ticket}"
    return WebsocketCommunicator(application, path, headers=[(b"host", b"testserver")])


async def _first_frames(communicator: WebsocketCommunicator) -> list[dict]:
    """The snapshot on connect, a ``refresh``'s reply, and nothing for an unknown frame."""
    connected, _ = await communicator.connect()
    assert connected
    frames = [await communicator.receive_json_from(timeout=5)]
    await communicator.send_json_to({"type": "refresh"})
    frames.append(await communicator.receive_json_from(timeout=5))
    await communicator.send_json_to({"type": "something else"})
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
    return frames


@database_sync_to_async
def _polls() -> tuple[dict[str, Poll], Any]:
    """Polls in every state a dashboard can see, and an official who may watch them all."""
    k = settings.BALLOT_BATCH_MIN
    now = timezone.now()
    withheld = PollFactory(options=["A", "B"])
    counted = PollFactory(options=["A", "B"])
    cast_many(counted, 2 * k)
    assert count_now() == k
    final = PollFactory(options=["A", "B"])
    a, b = final.options.order_by("position").values_list("pk", flat=True)
    # One cell of known residence, age and gender, one of unknowns; one vote for b: withheld.
    cast_many(final, k, lambda i: [b] if i == 0 else [a], district_id=SAJIK, birth_year=1987)
    cast_many(final, k, [a])
    close_and_count(final)
    Poll.objects.filter(pk=final.pk).update(results_published_at=now)
    polls = {
        "withheld": withheld,
        "counted": counted,
        "final": final,
        "upcoming": PollFactory(
            opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2)
        ),
        "draft": PollFactory(published=False),
    }
    return polls, OfficialFactory(role="official")


@transactional
@pytest.mark.usefixtures("_fresh_layer_and_relay")
async def test_every_frame_the_consumer_sends_is_in_the_document():
    polls, official = await _polls()
    frames: dict[str, list[dict]] = {}
    for name, poll in polls.items():
        frames[name] = await _first_frames(await _browser(poll.pk, official))
    for name, sent in frames.items():
        for frame in sent:
            _assert_valid("tally", frame)
        assert [frame["status"] for frame in sent] == [sent[0]["status"]] * 2, name

    # The document's optional shapes were all exercised, so none is described but never sent.
    assert {name: frames[name][0]["status"] for name in frames} == {
        "withheld": "open",
        "counted": "open",
        "final": "closed",
        "upcoming": "upcoming",
        "draft": "draft",
    }
    assert frames["withheld"][0]["total"] is None and frames["withheld"][0]["note"]
    final = frames["final"][0]
    assert final["results_published"] is True
    cells = final["breakdown"]
    assert {cell["code"] for cell in cells["gu"]} == {JONGNO, None}
    assert {cell["band"] for cell in cells["age_band"]} - {None}
    assert None in {cell["band"] for cell in cells["age_band"]}
    assert {cell["gender"] for cell in cells["gender"]} == {"undisclosed"}
    assert any(option["votes"] is None for cell in cells["gu"] for option in cell["options"])


@transactional
@pytest.mark.usefixtures("_fresh_layer_and_relay")
async def test_an_apps_ticket_flow_is_as_documented():
    """POST the ticket with X-Session-Token, open the socket without Origin: frames as
    documented; the same ticket again: refused during the handshake with CLOSE_FORBIDDEN."""
    polls, official = await _polls()
    poll = polls["counted"]

    @database_sync_to_async
    def ask_ticket():
        client = APIClient()
        client.credentials(HTTP_X_SESSION_TOKEN=make_session_token(official))
        return client.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json")

    response = await ask_ticket()
    assert response.status_code == 201
    body = response.json()
    assert body["expires_in"] == settings.WS_TICKET_TTL
    assert body["url"] == f"/ws/polls/{poll.pk}/?ticket={body['ticket']}"
    query = _document()["channels"]["pollTally"]["bindings"]["ws"]["query"]
    assert Draft7Validator(query).is_valid({"ticket": body["ticket"]})

    for frame in await _first_frames(await _app(poll.pk, body["ticket"])):
        _assert_valid("tally", frame)

    connected, code = await (await _app(poll.pk, body["ticket"])).connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


def test_the_refresh_message_is_what_the_consumer_answers_to():
    document = _document()
    _assert_valid("refresh", {"type": "refresh"})
    assert not _payload_validator("refresh").is_valid({"type": "refresh", "extra": 1})
    example = document["components"]["messages"]["refresh"]["examples"][0]["payload"]
    _assert_valid("refresh", example)
    _assert_valid("tally", document["components"]["schemas"]["Tally"]["examples"][0])


@pytest.mark.django_db
def test_frame_times_are_written_as_the_rest_api_writes_them():
    """+09:00 (Asia/Seoul) like the REST API, not the database's UTC."""
    poll = PollFactory()
    frame = live.snapshot(poll.pk)
    rest = serializers.DateTimeField()
    assert frame["opens_at"] == rest.to_representation(poll.opens_at)
    assert frame["closes_at"] == rest.to_representation(poll.closes_at)
    assert frame["opens_at"].endswith("+09:00")
    assert live.snapshot(poll.pk) == frame  # the same for every dashboard, whoever builds it
    _assert_valid("tally", frame)


def _close_code(client: WebSocketClient, timeout: float) -> int:
    """Read frames until the server's close frame; its status code."""
    client.sock.settimeout(timeout)
    while True:
        first, second = client._read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", client._read(2))
        payload = client._read(length)
        if first & 0x0F == 0x8:
            return struct.unpack("!H", payload[:2])[0]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_server_refuses_and_closes_as_documented():
    """daphne, as deployed: a refusal is HTTP 403 before the upgrade; frames as documented; a
    text frame that is not JSON, or a binary frame, ends the socket with 1011."""
    poll = PollFactory()
    official = OfficialFactory(role="official")
    with running_servers("asyncapi") as (server,):
        path = f"/ws/polls/{poll.pk}/"
        refused = WebSocketClient(server, path, cookie="sessionid=nothing")
        assert (refused.accepted, refused.status_line.split()[1]) == (False, "403")
        refused.close()

        client = WebSocketClient(server, path, cookie=session_cookie(official))
        try:
            assert client.accepted, client.status_line
            _assert_valid("tally", client.receive_json(timeout=10))
            client.send_json({"type": "refresh"})
            _assert_valid("tally", client.receive_json(timeout=10))
            client._send_frame(0x1, b"not json")
            assert _close_code(client, timeout=10) == 1011
        finally:
            client.close()
        binary = WebSocketClient(server, path, cookie=session_cookie(official))
        try:
            binary.receive_json(timeout=10)
            binary._send_frame(0x2, b'{"type": "refresh"}')
            assert _close_code(binary, timeout=10) == 1011
        finally:
            binary.close()


# --- served beside the OpenAPI schema ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "content_type", "parse"),
    [
        ("/api/asyncapi.yaml", "application/yaml; charset=utf-8", yaml.safe_load),
        ("/api/asyncapi.json", "application/json; charset=utf-8", json.loads),
    ],
)
def test_the_document_is_served(client, path, content_type, parse):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    served = parse(response.content.decode())
    expected = _document()
    site = expected["servers"]["site"]
    site["protocol"] = "ws"
    site["variables"]["host"]["default"] = "testserver"
    expected["info"]["externalDocs"]["url"] = "http://testserver/api/schema/"
    assert served == expected
    assert Draft7Validator(json.loads(SPEC.read_text())).is_valid(served)

    secure = client.get(path, secure=True)
    assert parse(secure.content.decode())["servers"]["site"]["protocol"] == "wss"
    refused = client.post(path)
    assert (refused.status_code, refused["Allow"]) == (405, "GET, HEAD")
    assert refused.json()["code"] == "method_not_allowed"
    assert client.head(path).status_code == 200
