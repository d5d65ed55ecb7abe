"""The served OpenAPI schema as the app developers' contract (issue 17): what a generated client
(openapi-typescript, openapi-python-client) gets must be typed, bounded and complete.

Each test states one promise about the whole schema; tests/voting/test_api_schema.py checks real
answers against it, and tests/security/test_schema_fuzz.py fuzzes every operation.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from core.idempotency import MAX_KEY_LENGTH, MIN_KEY_LENGTH, REPLAYED_HEADER
from tests.openapi_strict import load_schema, strict_schema, validate_response

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
# config/converters.py's IdConverter: [0-9]{1,18}.
ID_MAX = 10**18 - 1
# Free-form on purpose, each with why: a client gets a map of unknown values.
OPAQUE = {
    # Whatever the configured identity provider's app SDK returned, handed on to its verifier.
    "IdentityEvidenceRequest.evidence",
    "IdentityEvidenceRequest.evidence.additionalProperties",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load_schema()


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    return resolve(schema, schema["components"]["schemas"][ref.rsplit("/", 1)[1]])


def untyped_objects(node: Any, where: str) -> Iterator[str]:
    """Places where a client would get ``object``/``any``: an object without properties whose
    values are not typed either, or a schema with no type at all (``{}``)."""
    if isinstance(node, list):
        for index, value in enumerate(node):
            yield from untyped_objects(value, f"{where}[{index}]")
        return
    if not isinstance(node, dict):
        return
    keys = set(node) - {"description", "title", "readOnly", "writeOnly", "nullable", "default"}
    if not keys:
        yield where or "(root)"
    if node.get("type") == "object" and "properties" not in node:
        values = node.get("additionalProperties")
        # A map is fine where the data really is one (e.g. per-option counts), if typed.
        if not isinstance(values, dict) or not values:
            yield where
    for key in ("properties",):
        for name, value in (node.get(key) or {}).items():
            yield from untyped_objects(value, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from untyped_objects(node[key], f"{where}.{key}")
    for key in ("allOf", "oneOf", "anyOf"):
        if key in node:
            yield from untyped_objects(node[key], f"{where}.{key}")


def test_every_success_documents_its_body(schema):
    """Promise: a client has a type for every successful answer (TS `never` otherwise). Only a
    204 (no body) and a 302 (a redirect) have none."""
    missing = [
        f"{label} {status}"
        for label, operation in operations(schema)
        for status, response in operation["responses"].items()
        if status.startswith("2")
        and status != "204"
        and "schema" not in (response.get("content") or {}).get("application/json", {})
    ]
    assert missing == []


def test_no_answer_or_component_is_an_untyped_object(schema):
    """Promise: no response body and no component is a bare `object` (or `any`): every nested
    object is a named, typed component; maps have typed values."""
    found = [
        place
        for name, component in schema["components"]["schemas"].items()
        for place in untyped_objects(component, name)
    ]
    for label, operation in operations(schema):
        for status, response in operation["responses"].items():
            for media, content in (response.get("content") or {}).items():
                found += untyped_objects(content.get("schema", {}), f"{label} {status} {media}")
    assert sorted(set(found) - OPAQUE) == []


def test_path_ids_are_integers_within_the_converters_bounds(schema):
    """Promise: an id is an integer in paths as in bodies (not a string with a pattern), and
    its bounds are those config/converters.py accepts (anything else is a 404)."""
    wrong = []
    for label, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"].endswith("_id"):
                expected = {"type": "integer", "minimum": 0, "maximum": ID_MAX}
                if parameter["schema"] != expected:
                    wrong.append((label, parameter["name"], parameter["schema"]))
    assert wrong == []


def test_the_idempotency_key_header_states_its_length(schema):
    """Promise: a client learns the key must be 16 to 255 characters (a shorter one is a 400)."""
    headers = [
        (label, parameter["schema"])
        for label, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key"
    ]
    assert len(headers) >= 7  # ballots, comments (2), proposals, images, support, devices
    for label, header in headers:
        assert header["minLength"] == MIN_KEY_LENGTH == 16, label
        assert header["maxLength"] == MAX_KEY_LENGTH == 255, label


def test_every_idempotent_success_documents_the_replay_header(schema):
    """Promise: every success of an operation taking an Idempotency-Key may be a replay, which
    says so with Idempotent-Replayed: true."""
    missing = []
    for label, operation in operations(schema):
        takes_key = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for status, response in operation["responses"].items():
            if takes_key and status.startswith("2"):
                header = (response.get("headers") or {}).get(REPLAYED_HEADER)
                if header is None or header["schema"] != {"type": "string", "enum": ["true"]}:
                    missing.append(f"{label} {status}")
    assert missing == []


def test_every_429_and_503_documents_retry_after(schema):
    """Promise: a throttled or briefly unavailable answer always says when to retry."""
    answers = [
        (f"{label} {status}", response)
        for label, operation in operations(schema)
        for status, response in operation["responses"].items()
        if status in ("429", "503")
    ]
    assert answers
    for where, response in answers:
        header = (response.get("headers") or {}).get("Retry-After")
        assert header is not None, where
        assert header["schema"] == {"type": "integer", "minimum": 0}, where
        # Required, unless the operation's 503 has codes without it and says which have it
        # (POST /me/identity/: identity_verification_unavailable has none).
        assert header.get("required") is True or (
            where.endswith("503") and "service_unavailable" in header["description"]
        ), where


def test_the_error_body_lists_every_key_the_server_sends(schema):
    """Promise: the Error component has the extra keys some codes carry (core/errors.py
    ``ApiError`` extras): reason, field, next_change_at; code and detail always."""
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail"}
    assert error["properties"]["reason"]["type"] == "string"
    assert error["properties"]["field"]["type"] == "string"
    assert error["properties"]["next_change_at"] == {
        "type": "string",
        "format": "date-time",
        "description": error["properties"]["next_change_at"]["description"],
    }
    assert error["properties"]["fields"]["additionalProperties"]["items"]["type"] == "string"


def test_every_error_answer_is_an_error_body(schema):
    """Promise: every 4xx/5xx documents a JSON body with code and detail (core/errors.py)."""
    wrong = []
    for label, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                body = (response.get("content") or {}).get("application/json", {}).get("schema")
                target = resolve(schema, body) if body else {}
                if not {"code", "detail"} <= set(target.get("required", [])):
                    wrong.append(f"{label} {status}")
    assert wrong == []


def test_the_ballots_refusal_names_the_audience_rule_as_an_enum(schema):
    """Promise: a client can switch on not_eligible's reason: an enum of the audience rules."""
    forbidden = schema["paths"]["/api/v1/polls/{poll_id}/ballots/"]["post"]["responses"]["403"]
    body = resolve(schema, forbidden["content"]["application/json"]["schema"])
    reason = resolve(schema, body["properties"]["reason"]["allOf"][0])
    assert reason["enum"] == ["verification", "profile_incomplete", "district", "group", "age"]
    conflict = schema["paths"]["/api/v1/polls/{poll_id}/ballots/"]["post"]["responses"]["409"]
    assert "already_voted" in conflict["description"]
    assert "poll_not_open" in conflict["description"]


def test_states_are_enums(schema):
    """Promise: fields with a closed set of values are enums a client can switch on."""
    components = schema["components"]["schemas"]
    detail = components["PollDetail"]["properties"]
    assert resolve(schema, detail["status"])["enum"] == ["open", "upcoming", "closed"]
    assert [
        resolve(schema, choice).get("enum") for choice in detail["ineligible_reason"]["oneOf"]
    ] == [
        ["not_open", "verification", "profile_incomplete", "district", "group", "age"],
        [None],
    ]
    audience = resolve(schema, detail["audience"]["allOf"][0])
    assert resolve(schema, audience["properties"]["min_verification"])["enum"] == [
        "unverified",
        "phone",
        "resident",
    ]
    results = components["Results"]["properties"]
    assert resolve(schema, results["status"])["enum"] == ["open", "upcoming", "closed"]


def test_request_bodies_state_their_bounds(schema):
    """Promise: what the server refuses as out of range, the schema says is out of range."""
    ballot = schema["components"]["schemas"]["BallotRequestRequest"]["properties"]["options"]
    assert (ballot["minItems"], ballot["maxItems"]) == (1, 100)
    assert (ballot["items"]["minimum"], ballot["items"]["maximum"]) == (1, 2**63 - 1)


def test_strict_validation_refuses_an_undocumented_key(schema):
    """The helper the contract tests use: a key the schema does not list fails, while the
    served schema stays open for clients."""
    body = {"code": "not_found", "detail": "Not found."}
    path = "/api/v1/receipts/abc/"
    validate_response(schema, method="GET", path=path, status=404, body={**body, "x": 1})
    with pytest.raises(AssertionError, match="'x' was unexpected"):
        validate_response(
            strict_schema(schema), method="GET", path=path, status=404, body={**body, "x": 1}
        )


def test_every_list_documents_the_last_page_and_every_key_of_a_page(schema, client, db):
    """A typed client can ask for ``page=last`` (every list serves it) and rely on next/previous."""
    lists = [
        (path, op)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
        if method == "get" and any(p["name"] == "page" for p in op.get("parameters", []))
    ]
    assert len(lists) >= 8
    for path, op in lists:
        page = next(p for p in op["parameters"] if p["name"] == "page")
        kinds = {branch.get("type") for branch in page["schema"]["oneOf"]}
        assert kinds == {"integer", "string"}, path
        assert {"last"} in [set(b.get("enum", [])) for b in page["schema"]["oneOf"]], path
        body = resolve(schema, op["responses"]["200"]["content"]["application/json"]["schema"])
        assert {"count", "next", "previous", "results"} <= set(body["required"]), path
    response = client.get("/api/v1/districts/", {"level": "gu", "page": "last", "page_size": 10})
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 25 and len(page["results"]) == 5
    assert page["next"] is None and page["previous"] is not None
