"""Checks of real answers and schema parts against the served OpenAPI schema, for app tests.

``assert_documented(response)`` takes a test client's answer and fails unless the schema
documents it exactly: its status for the operation, its body against the closed schema
(``additionalProperties: false``, tests/openapi_strict.py) and its response headers.
"""

from functools import lru_cache
from typing import Any

from tests.openapi_strict import load_schema, strict_schema, validate_response

REF = "#/components/schemas/"


@lru_cache(maxsize=1)
def _strict() -> dict[str, Any]:
    return strict_schema(load_schema())


def assert_documented(response: Any) -> None:
    request = response.wsgi_request
    body = response.json() if response.content else None
    validate_response(
        _strict(),
        method=request.method,
        path=request.path,
        status=response.status_code,
        body=body,
        headers=dict(response.headers),
    )


def component(name: str) -> dict[str, Any]:
    return load_schema()["components"]["schemas"][name]  # type: ignore[no-any-return]


def ref_of(node: dict[str, Any]) -> str | None:
    """The component a property points at, directly or through drf-spectacular's single-member
    ``allOf`` wrapper (used to add nullable, readOnly or a description beside a $ref)."""
    if "$ref" in node:
        return str(node["$ref"]).removeprefix(REF)
    members = node.get("allOf") or []
    if len(members) == 1 and "$ref" in members[0]:
        return str(members[0]["$ref"]).removeprefix(REF)
    return None


def operation(method: str, path: str) -> dict[str, Any]:
    return load_schema()["paths"][path][method.lower()]  # type: ignore[no-any-return]


def documented_statuses(method: str, path: str) -> set[int]:
    return {int(status) for status in operation(method, path)["responses"]}
