"""allauth's served OpenAPI specification, as this service answers: /_allauth/openapi.{json,yaml}.

allauth builds its specification from its own YAML (allauth.headless.spec); these views serve
that, post-processed rather than forked, so allauth upgrades still flow in:

- every error answer documents the API's ``code``, ``detail`` and ``fields`` beside allauth's
  keys (accounts/headless_errors.py adds them);
- the operations this service rate-limits document their 429, with ``Retry-After``;
- the description opens with the one error rule an app codes once.

The HTML page (allauth's view, HEADLESS_SPECIFICATION_TEMPLATE_NAME) loads openapi.json by its
URL name, which these views take over (config/urls.py puts them before allauth's include).
"""

import copy
import json
from typing import Any

import yaml
from allauth.account.internal.decorators import login_not_required
from allauth.headless.spec.internal.schema import get_schema
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import translation
from django.views.decorators.http import require_safe

from accounts.headless_errors import completed_body

# (method, path after /_allauth/{client}/v1/) that a rate limit or the SMS budget can refuse
# with 429: allauth's limits (ACCOUNT_RATE_LIMITS), the SMS budget of every operation that
# texts a code, allauth's form errors for exhausted limits answered as 429 (accounts/adapter.py).
RATE_LIMITED_OPERATIONS = (
    ("post", "auth/signup"),
    ("post", "auth/phone/verify/resend"),
    ("post", "auth/code/request"),
    ("post", "auth/code/resend"),
    ("post", "account/phone"),
    ("post", "auth/2fa/authenticate"),
    ("post", "auth/2fa/reauthenticate"),
)
# Those that text a code: the city's hourly SMS budget spent (or unknown) is a 503.
TEXTING_OPERATIONS = (
    ("post", "auth/signup"),
    ("post", "auth/phone/verify/resend"),
    ("post", "auth/code/request"),
    ("post", "auth/code/resend"),
    ("post", "account/phone"),
)

_METHODS = ("get", "post", "put", "patch", "delete")

ERROR_RULE = """
## Errors: one rule for the whole service

Every answer with a status of 400 or more, here as under `/api/v1/`, is a JSON object with:

- `code`: a stable snake_case string to switch on (e.g. `invalid_phone`, `incorrect_code`,
  `verification_pending`, `flow_not_pending`, `invalid_session_token`, `throttled`);
- `detail`: a message in the request's language (`Accept-Language`: Korean, else English);
- `fields` (input errors only): `{parameter: [message, ...]}`.

allauth's own keys stay (`status`, `errors`, `data.flows`, `meta`), and the service's own
refusals under `/_allauth/` carry `status` and `errors` too. A `429` always has a
`Retry-After` header (whole seconds); so has a `503`.
"""

_CODE_DETAIL_PROPERTIES: dict[str, Any] = {
    "code": {
        "type": "string",
        "description": "Stable snake_case error code (the same vocabulary as /api/v1/).",
        "example": "incorrect_code",
    },
    "detail": {
        "type": "string",
        "description": "Human-readable message in the request's language (Accept-Language).",
        "example": "코드가 올바르지 않습니다.",
    },
    "fields": {
        "type": "object",
        "description": "Input errors only: messages by parameter.",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}

_RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "Whole seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}


def _error_body_schema(status: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "status": {"type": "integer", "enum": [status]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            **copy.deepcopy(_CODE_DETAIL_PROPERTIES),
        },
        "required": ["status", "code", "detail"],
    }


def _is_error_schema(schema: Any) -> bool:
    """An object schema of allauth's whose ``status`` can only be an error status."""
    if not isinstance(schema, dict):
        return False
    status = (schema.get("properties") or {}).get("status")
    enum = status.get("enum") if isinstance(status, dict) else None
    if not isinstance(enum, list) or not enum:
        return False
    return all(isinstance(value, int) and value >= 400 for value in enum)


def _add_code_detail(schema: dict[str, Any]) -> None:
    properties = schema.setdefault("properties", {})
    for name, spec in _CODE_DETAIL_PROPERTIES.items():
        properties.setdefault(name, copy.deepcopy(spec))
    required = schema.setdefault("required", [])
    required.extend(name for name in ("code", "detail") if name not in required)


def _json_schemas_of(response: Any) -> list[Any]:
    content = response.get("content") if isinstance(response, dict) else None
    if not isinstance(content, dict):
        return []
    return [media.get("schema") for media in content.values() if isinstance(media, dict)]


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (allauth's, as get_schema() gives it), with this service's error answers."""
    spec["info"]["description"] = ERROR_RULE.strip() + "\n\n" + spec["info"].get("description", "")
    components = spec.setdefault("components", {})
    # Every allauth body schema for an error status: named ones and those inline in responses.
    for schema in components.get("schemas", {}).values():
        if _is_error_schema(schema):
            _add_code_detail(schema)
    responses = components.setdefault("responses", {})
    for response in responses.values():
        for schema in _json_schemas_of(response):
            if _is_error_schema(schema):
                _add_code_detail(schema)
    # allauth's example error bodies, as this service sends them (English, as the spec is).
    with translation.override("en"):
        for example in components.get("examples", {}).values():
            value = example.get("value") if isinstance(example, dict) else None
            if not isinstance(value, dict):
                continue
            status = value.get("status")
            if isinstance(status, int) and status >= 400:
                example["value"] = completed_body(value, status=status, retry_after=30)
    components.setdefault("headers", {})["RetryAfter"] = _RETRY_AFTER_HEADER
    responses["TooManyRequests"] = {
        "description": "Too many requests: a rate limit or the SMS budget for this number or "
        "address. Wait `Retry-After` seconds. `code` is `throttled`.",
        "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
        "content": {"application/json": {"schema": _error_body_schema(429)}},
    }
    responses["TextsUnavailable"] = {
        "description": "No text message can be sent now (the service's hourly budget is spent, "
        "or cannot be checked). Wait `Retry-After` seconds. `code` is `service_unavailable`.",
        "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
        "content": {"application/json": {"schema": _error_body_schema(503)}},
    }
    for path_key, item in spec["paths"].items():
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status).isdigit() and int(status) >= 400:
                    for schema in _json_schemas_of(response):
                        if _is_error_schema(schema):
                            _add_code_detail(schema)
            if _matches(path_key, method, RATE_LIMITED_OPERATIONS):
                operation["responses"]["429"] = {"$ref": "#/components/responses/TooManyRequests"}
            if _matches(path_key, method, TEXTING_OPERATIONS):
                operation["responses"]["503"] = {"$ref": "#/components/responses/TextsUnavailable"}
    return spec


def _matches(path_key: str, method: str, operations: tuple[tuple[str, str], ...]) -> bool:
    return any(method == m and path_key.endswith(f"/v1/{suffix}") for m, suffix in operations)


def service_schema() -> dict[str, Any]:
    return document_errors(get_schema())


@require_safe
@login_not_required
def openapi_json(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        json.dumps(service_schema()),
        content_type="application/vnd.oai.openapi+json",
        headers={"Content-Disposition": "inline; filename=allauth-openapi.json"},
    )


@require_safe
@login_not_required
def openapi_yaml(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        yaml.dump(service_schema(), Dumper=yaml.Dumper),
        content_type="application/vnd.oai.openapi",
        headers={"Content-Disposition": "inline; filename=allauth-openapi.yaml"},
    )


def urlpatterns() -> list[URLPattern]:
    """Routes to put before allauth's own in the root URLconf."""
    return [
        path("_allauth/openapi.json", openapi_json),
        path("_allauth/openapi.yaml", openapi_yaml),
    ]
