"""Strict validation of answers against the served OpenAPI schema, for tests.

The served schema lets objects carry more keys than it lists: a generated client must tolerate a
field added later. Tests must not: an undocumented key is a contract the app developers cannot
see. ``strict_schema`` closes every object of the answers (``additionalProperties: false``) in a
copy, and ``validate_response`` checks one concrete answer (status, body, headers) against it.

Interface (shared by several test modules; keep it stable):

- ``load_schema() -> dict``: the schema as ``/api/schema/`` serves it (JSON), a fresh copy.
- ``strict_schema(schema) -> dict``: a deep copy with every object of every answer closed.
- ``validate_response(schema, *, method, path, status, body, headers=None)``: AssertionError with
  a readable message when the answer does not match what the schema documents.
"""

import copy
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

COMPONENT_PREFIX = "#/components/schemas/"


# --- Loading -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _served_schema_text() -> str:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    # The renderer resolves lazy (translated) strings as the served JSON does.
    return OpenApiJsonRenderer().render(schema).decode()


def load_schema() -> dict[str, Any]:
    """The served schema (drf-spectacular's generator and JSON renderer), a fresh copy."""
    return json.loads(_served_schema_text())


# --- Closing objects -----------------------------------------------------------------------------


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _is_merging(node: dict[str, Any]) -> bool:
    # allOf merges its members' keys only when there is more than one source of properties:
    # drf-spectacular's {"allOf": [{"$ref": ...}], "nullable": true} wraps a single schema.
    members = node.get("allOf")
    return isinstance(members, list) and (len(members) > 1 or "properties" in node)


def _response_schemas(schema: dict[str, Any]) -> list[Any]:
    """The answers' schemas and every component they reach, transitively."""
    roots = [
        media.get("schema")
        for item in schema.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in (operation.get("responses") or {}).values()
        for media in (response.get("content") or {}).values()
        if isinstance(media, dict)
    ]
    components = schema.get("components", {}).get("schemas", {})
    reached: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        for node in _walk(pending.pop()):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(COMPONENT_PREFIX):
                name = ref.removeprefix(COMPONENT_PREFIX)
                if name not in reached and name in components:
                    reached[name] = components[name]
                    pending.append(components[name])
    return [*roots, *reached.values()]


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy where every object schema of an answer (a response's schema and the
    components it reaches) with ``properties`` and no ``additionalProperties`` gets
    ``additionalProperties: false``, except the parts of an allOf that merges several objects
    (closing one of them would refuse the other's keys).

    Request bodies stay open: the server ignores a key it does not know, so a fuzzer's body with
    one more key is not one it must refuse."""
    strict: dict[str, Any] = copy.deepcopy(dict(schema))
    targets = _response_schemas(strict)
    open_nodes: set[int] = set()
    open_components: set[str] = set()
    for node in _walk(targets):
        if _is_merging(node):
            for member in node["allOf"]:
                for inner in _walk(member):
                    open_nodes.add(id(inner))
                    ref = inner.get("$ref")
                    if isinstance(ref, str) and ref.startswith(COMPONENT_PREFIX):
                        open_components.add(ref.removeprefix(COMPONENT_PREFIX))
    components = strict.get("components", {}).get("schemas", {})
    for name in open_components:
        for inner in _walk(components.get(name)):
            open_nodes.add(id(inner))
    for node in _walk(targets):
        if (
            isinstance(node.get("properties"), dict)
            and "additionalProperties" not in node
            and id(node) not in open_nodes
            and not _is_merging(node)
        ):
            node["additionalProperties"] = False
    return strict


# --- OpenAPI 3.0 to JSON Schema 2020-12 ----------------------------------------------------------


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0.3's dialect as JSON Schema 2020-12: ``nullable: true`` becomes "or null"
    (it applies to the node as a whole, also to an allOf/oneOf wrapper), boolean exclusive
    bounds become numeric ones."""
    if isinstance(node, list):
        return [_to_json_schema(value) for value in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _to_json_schema(value) for key, value in node.items()}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = converted.get(exclusive)
        if isinstance(flag, bool):
            del converted[exclusive]
            if flag and bound in converted:
                converted[exclusive] = converted.pop(bound)
    if "oneOf" in converted:
        # drf-spectacular's oneOf alternatives are meant to exclude each other by format
        # (a blank URL: {"format": "uri"} or {"maxLength": 0}); formats like uri are not
        # checked without optional packages, so "" would match both and fail oneOf.
        converted["anyOf"] = converted.pop("oneOf")
    if converted.pop("nullable", False) is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


# --- Finding the documented answer ---------------------------------------------------------------


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{pattern}$")


def find_operation(
    schema: Mapping[str, Any], *, method: str, path: str
) -> tuple[str, dict[str, Any]]:
    """(template, operation) for a concrete path such as /api/v1/polls/12/results/."""
    path = path.split("?", 1)[0]
    matches = [
        template
        for template in schema.get("paths", {})
        if template == path or _template_regex(template).match(path)
    ]
    if not matches:
        raise AssertionError(f"{method.upper()} {path}: no path of the schema matches")
    # The most literal template wins: /me/groups/ over /{something}/groups/.
    template = min(matches, key=lambda t: (t.count("{"), -len(t)))
    operation = schema["paths"][template].get(method.lower())
    if operation is None:
        raise AssertionError(f"{method.upper()} {template}: the method is not documented")
    return template, operation


def _documented(operation: Mapping[str, Any], status: int) -> dict[str, Any] | None:
    responses = operation.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return responses[key]
    return None


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(schema, target)


def _errors(
    schema: Mapping[str, Any], node: Mapping[str, Any], instance: Any
) -> list[ValidationError]:
    root = {
        **_to_json_schema(dict(node)),
        "components": _to_json_schema(schema.get("components", {})),
    }
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))


def _describe(error: ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(body)"
    return f"  at {where}: {error.message[:300]}"


def _header_value(raw: str, header_schema: Mapping[str, Any]) -> Any:
    kind = header_schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    return raw


def validate_response(
    schema: Mapping[str, Any],
    *,
    method: str,
    path: str,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Raise AssertionError unless the answer is one the schema documents: its status for this
    operation, its body against the JSON content's schema (an empty body when none is
    documented), and the documented response headers (present when required, valid if present).
    Pass ``strict_schema(load_schema())`` to refuse undocumented keys."""
    template, operation = find_operation(schema, method=method, path=path)
    label = f"{method.upper()} {path} ({template}) -> {status}"
    response = _documented(operation, status)
    if response is None:
        documented = ", ".join(sorted(operation.get("responses", {})))
        raise AssertionError(f"{label}: status not documented (documented: {documented})")
    response = dict(_resolve(schema, response))

    content = response.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    if media is None or "schema" not in media:
        if body not in (None, b"", ""):
            raise AssertionError(f"{label}: a body was sent but none is documented: {body!r:.300}")
    else:
        errors = _errors(schema, media["schema"], body)
        if errors:
            lines = "\n".join(_describe(error) for error in errors[:10])
            raise AssertionError(f"{label}: the body does not match its schema\n{lines}")

    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    for name, spec in (response.get("headers") or {}).items():
        spec = _resolve(schema, spec)
        value = lowered.get(name.lower())
        if value is None:
            if spec.get("required"):
                raise AssertionError(f"{label}: the required header {name} is missing")
            continue
        header_schema = spec.get("schema") or {}
        typed = _header_value(value, _resolve(schema, header_schema))
        errors = _errors(schema, header_schema, typed)
        if errors:
            raise AssertionError(f"{label}: header {name}: {errors[0].message}")
