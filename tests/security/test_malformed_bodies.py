"""Malformed input (OWASP API4/API8): a 4xx in the error format, never a 500, nothing written.

Already proven elsewhere: wrong JSON types, huge and negative ids, 5,000 option ids, a
10,000-digit string, non-object bodies, ``null`` and invalid JSON on the ballot endpoint
(tests/voting/test_api_ballots_rules.py); a non-object and invalid JSON profile body
(tests/accounts/test_me.py); huge ids in URLs (tests/voting/test_api_polls.py).
"""

import json

import pytest

from tests.ballot_box import assert_box_consistent, cast_many, close_and_count
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory, PollFactory
from tests.security.conftest import world_state
from voting import receipts
from voting.models import BoardEntry, BoardTracker, Envelope, Participation

pytestmark = pytest.mark.django_db

FIVE_MB = 5 * 1024 * 1024


def _big_json() -> bytes:
    body = b'{"options": [' + b"1," * (FIVE_MB // 2) + b'1], "district": "1111053000"}'
    assert len(body) > FIVE_MB
    return body


# (id, raw body, content type, expected status, expected codes or None for "any")
BODIES = [
    ("5MB-json", _big_json(), "application/json", 413, {"request_too_large"}),
    (
        "invalid-utf8",
        b'{"options": [1], "gender": "\xff\xfe\xc3"}',
        "application/json",
        400,
        None,
    ),
    ("latin1-bytes", b'{"gender": "caf\xe9"}', "application/json", 400, None),
    ("nested-arrays", b"[" * 10_000 + b"]" * 10_000, "application/json", 400, {"parse_error"}),
    ("nested-objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "application/json", 400, None),
    (
        "nested-in-field",
        b'{"options": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        "application/json",
        400,
        None,
    ),
    (
        "NaN",
        b'{"options": [NaN], "birth_year": NaN, "group": NaN, "poll": NaN}',
        "application/json",
        400,
        {"parse_error"},
    ),
    (
        "Infinity",
        b'{"options": [Infinity], "birth_year": -Infinity, "group": Infinity, "poll": Infinity}',
        "application/json",
        400,
        {"parse_error"},
    ),
    (
        "10000-digit-number",
        b'{"options": ['
        + b"9" * 10_000
        + b'], "birth_year": '
        + b"9" * 10_000
        + b', "group": 1'
        + b"0" * 9_999
        + b', "poll": '
        + b"9" * 10_000
        + b"}",
        "application/json",
        400,
        None,
    ),
    (
        "huge-float",
        b'{"options": [1e999], "birth_year": 1e999, "group": 1e999, "poll": 1e999}',
        "application/json",
        400,
        None,
    ),
    (
        "nul-in-strings",
        json.dumps(
            {
                "options": ["\u0000"],
                "district": "\u0000" * 10,
                "gender": "\u0000",
                "group": "\u0000",
                "poll": "\u0000",
            }
        ).encode(),
        "application/json",
        400,
        None,
    ),
    (
        "lone-surrogates",
        b'{"options": ["\\ud800"], "district": "\\udfff111111111", '
        b'"gender": "\\ud800", "group": "\\ud800", "poll": "\\ud800"}',
        "application/json",
        400,
        None,
    ),
    ("text-plain", b'{"options": [1]}', "text/plain", 415, {"unsupported_media_type"}),
    ("xml", b"<options><id>1</id></options>", "application/xml", 415, None),
    ("form", b"options=1&district=1111053000", "application/x-www-form-urlencoded", 415, None),
    ("no-content-type", b'{"options": [1]}', "", 415, None),
    ("null", b"null", "application/json", 400, None),
    ("scalar", b"42", "application/json", 400, None),
    ("empty-string-body", b'""', "application/json", 400, None),
    ("truncated", b'{"options": [1', "application/json", 400, {"parse_error"}),
    ("bom", b'\xef\xbb\xbf{"options": [1]}', "application/json", 400, None),
]


@pytest.fixture
def poll():
    return PollFactory()


def _endpoints(poll) -> dict:
    """method, path, who calls it."""
    return {
        "ballot": ("post", f"/api/v1/polls/{poll.pk}/ballots/", "citizen"),
        "profile": ("patch", "/api/v1/me/", "citizen"),
        "join-group": ("post", "/api/v1/me/groups/", "citizen"),
        "identity": ("post", "/api/v1/me/identity/", "citizen"),
        "ws-ticket": ("post", "/api/v1/ws-tickets/", "official"),
    }


ENDPOINTS = ["ballot", "profile", "join-group", "identity", "ws-ticket"]


def _send(client, method: str, path: str, body: bytes, content_type: str):
    """The raw bytes, as sent: no encoding by the test client."""
    return client.generic(method.upper(), path, data=body, content_type=content_type)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "content_type", "status", "codes"),
    [pytest.param(*row[1:], id=row[0]) for row in BODIES],
)
def test_malformed_body_is_4xx_and_writes_nothing(
    endpoint, body, content_type, status, codes, poll, client_for, settings
):
    settings.IDENTITY_VERIFIER = "tests.security.conftest.FakeIdentityProvider"
    method, path, who = _endpoints(poll)[endpoint]
    GroupFactory()
    user = (
        CitizenFactory(district_id=SAJIK, birth_year=1990)
        if who == "citizen"
        else OfficialFactory(role="official")
    )
    client = client_for(user)
    before = world_state()

    response = _send(client, method, path, body, content_type)

    assert response.status_code == status, (response.status_code, response.content[:300])
    error = response.json()
    assert isinstance(error["code"], str) and isinstance(error["detail"], str)
    if codes is not None:
        assert error["code"] in codes
    assert world_state() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_empty_body_is_4xx_or_a_no_op(endpoint, poll, client_for, settings):
    # With a provider, so that /me/identity/ judges the body (without one it is a 503 first).
    settings.IDENTITY_VERIFIER = "tests.security.conftest.FakeIdentityProvider"
    method, path, who = _endpoints(poll)[endpoint]
    user = (
        CitizenFactory(district_id=SAJIK) if who == "citizen" else OfficialFactory(role="official")
    )
    before = world_state()

    response = _send(client_for(user), method, path, b"", "application/json")

    if endpoint == "profile":
        assert response.status_code == 200  # an empty change: nothing to do
    else:
        assert response.status_code == 400
    assert world_state() == before


def test_oversized_body_is_refused_before_it_is_read(poll, client_for, settings):
    """The declared length alone decides: the parser reads none of a body it will refuse."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client = client_for(CitizenFactory(district_id=SAJIK))
    option = poll.options.first().pk
    small = json.dumps({"options": [option]}).encode()
    padded = json.dumps({"options": [option], "pad": "x" * 2_000}).encode()

    refused = _send(client, "post", f"/api/v1/polls/{poll.pk}/ballots/", padded, "application/json")
    accepted = _send(client, "post", f"/api/v1/polls/{poll.pk}/ballots/", small, "application/json")

    assert refused.status_code == 413
    assert refused.json()["code"] == "request_too_large"
    assert accepted.status_code == 201


def test_duplicate_keys_take_the_last_value_and_vote_once(poll, client_for, settings):
    """Python's JSON keeps the last of duplicate keys; one ballot either way, never two — and
    what is sealed, hence counted, is the last value too (the counted board says so)."""
    first, second = poll.options.values_list("pk", flat=True)
    body = f'{{"options": [{first}], "options": [{second}]}}'.encode()

    response = _send(
        client_for(CitizenFactory()),
        "post",
        f"/api/v1/polls/{poll.pk}/ballots/",
        body,
        "application/json",
    )

    assert response.status_code == 201
    assert response.json()["options"] == [second]
    assert Participation.objects.filter(poll=poll).count() == 1
    assert Envelope.objects.filter(poll=poll).count() == 1
    # Enough other ballots (all for ``first``) that the poll's count is published at close.
    cast_many(poll, settings.BALLOT_BATCH_MIN, choose=[first])
    close_and_count(poll)
    ballots = [b for entry in BoardEntry.objects.filter(poll=poll) for b in entry.ballots]
    assert sorted(ballots) == sorted([[first]] * settings.BALLOT_BATCH_MIN + [[second]])
    receipt = response.json()["receipt"]
    assert BoardTracker.objects.filter(tracker=receipts.tracker(receipt)).exists()
    assert_box_consistent([poll.pk])


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/api/v1/districts/?q=%00", 400),
        # Not UTF-8 (a lone surrogate's bytes): read as U+FFFD, which no district's name holds.
        ("/api/v1/districts/?q=%ED%A0%80", 200),
        ("/api/v1/districts/?parent=%001110000", 400),
        ("/api/v1/districts/%00%00%00%00%00%00%00%00%00%00/", 400),
        ("/api/v1/polls/?category=%00", 400),
        ("/api/v1/polls/?status=%00", 400),
        ("/api/v1/polls/?page=%00", 404),
        ("/api/v1/polls/?page_size=%00", 400),
        ("/api/v1/polls/?page=99999999999999999999999", 404),
        # A page size beyond the largest is the largest (core/pagination.py): an empty page.
        ("/api/v1/polls/?page_size=99999999999999999999999", 200),
        (
            "/api/v1/receipts/%00%00%00%00%00-%00%00%00%00%00-%00%00%00%00%00-%00%00%00%00%00/",
            404,
        ),
        ("/api/v1/receipts/" + "A" * 5_000 + "/", 404),
        ("/api/v1/polls/1/%00/", 404),
    ],
    ids=lambda value: str(value)[:60],
)
def test_hostile_query_strings_and_paths_get_a_4xx_or_nothing(path, answer, citizen_api):
    response = citizen_api.get(path)
    assert response.status_code == answer, (path, response.content[:300])
    if answer == 200:
        assert response.json()["results"] == []
    else:
        assert isinstance(response.json()["code"], str)


@pytest.mark.parametrize("poll_id", [2**31, 10**18 - 1], ids=["2^31", "18-digits"])
def test_a_ballot_for_a_poll_id_beyond_32_bits_is_404(poll_id, client_for):
    """Any id the URL accepts (up to 18 digits) is a poll that does not exist: 404, nothing
    written — never a 500 from a database function that takes 32-bit keys."""
    client = client_for(CitizenFactory(district_id=SAJIK))
    before = world_state()

    response = client.post(f"/api/v1/polls/{poll_id}/ballots/", {"options": [1]}, format="json")

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert world_state() == before


@pytest.mark.parametrize(
    "key",
    ["\u0000" * 20, "k" * 10_000, "a\r\nX-Injected: 1" + "b" * 10],
    ids=["nul", "10k", "crlf"],
)
def test_hostile_idempotency_keys_are_400(key, poll, client_for):
    client = client_for(CitizenFactory())
    before = world_state()
    response = client.post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [poll.options.first().pk]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_idempotency_key"
    assert world_state() == before
