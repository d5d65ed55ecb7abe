"""The results' shapes in the live frames are the REST API's: the AsyncAPI document carries copies
of the OpenAPI components (drf-spectacular, OpenAPI 3.0) as JSON Schema, and
tests/voting/test_asyncapi_results.py checks the copies equal what ``converted`` makes of the
served schema, so the two documents cannot drift apart.

Regenerate the copies after changing a component (prints YAML for ``components.schemas``):
``.venv/bin/python -m tests.voting.asyncapi_components``.
"""

import copy
from typing import Any

# The results document's parts that only the new kinds and the evidence add.
ROOTS = ("PollKindEnum", "RankedResults", "ScoreResults", "Evidence")
_REF = "#/components/schemas/"


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's dialect to JSON Schema (draft 7): ``nullable`` becomes a null type, and every
    object with properties is closed, as the rest of the AsyncAPI document is."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if "enum" in out:
        # An enum's description lists its choices' labels in the generating language: the
        # values are the contract, the labels are not.
        out.pop("description", None)
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    if not node.get("nullable"):
        return out
    if "allOf" in out and len(out["allOf"]) == 1:
        nullable = {"oneOf": [out.pop("allOf")[0], {"type": "null"}]}
        return {**out, **nullable}
    if "type" in out:
        out["type"] = [out["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["$ref"].removeprefix(_REF)} if "$ref" in node else set()
    return found.union(*(_refs(value) for value in node.values()))


def converted(openapi: dict[str, Any]) -> dict[str, Any]:
    """The components ``ROOTS`` need, from the OpenAPI document, as JSON Schema."""
    schemas = openapi["components"]["schemas"]
    wanted, queue = set(), list(ROOTS)
    while queue:
        name = queue.pop()
        if name not in wanted:
            wanted.add(name)
            queue.extend(_refs(schemas[name]))
    return {name: _json_schema(copy.deepcopy(schemas[name])) for name in sorted(wanted)}


if __name__ == "__main__":
    import os

    import django
    import yaml

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.utils import translation
    from drf_spectacular.generators import SchemaGenerator

    with translation.override("ko"):
        document = SchemaGenerator().get_schema(request=None, public=True)
    print(yaml.safe_dump(converted(document), allow_unicode=True, sort_keys=False, width=100))
