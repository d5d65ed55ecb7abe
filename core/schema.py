"""OpenAPI pieces shared by every endpoint: the error body, its statuses, the response headers
every operation gets (a postprocessing hook) and the session-token scheme.

Error codes are documented per status in the responses' descriptions, not as an enum of
``code``: generated clients (openapi-python-client) refuse an enum value they do not know, so a
new code would break every app already installed. Apps switch on the codes they know and treat
any other as the status's generic case.
"""

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error body (core/errors.py). Besides code and detail, a few codes carry one more key
    (``ApiError``'s extras); they are listed here so that clients can read them."""

    code = serializers.CharField(
        help_text="Stable snake_case error code (each response lists the codes it may carry)"
    )
    detail = serializers.CharField(help_text="Human-readable text in the request's language")
    # The body's key is "fields", which shadows Serializer.fields for the type checker only: DRF
    # moves declared fields out of the class body.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages, for validation errors only (invalid_input)",
    )
    reason = serializers.CharField(
        required=False,
        help_text=(
            "Why, for not_eligible and not_in_audience (the audience rule that fails) and "
            "identity_verification_failed (the provider's reason)"
        ),
    )
    field = serializers.CharField(
        required=False, help_text="Which profile field, for profile_change_too_soon"
    )
    next_change_at = serializers.DateTimeField(
        required=False,
        help_text="When the field may change again, for residence_change_too_soon and "
        "profile_change_too_soon",
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def error_response(description: str) -> OpenApiResponse:
    """An error answer (the Error body) whose description lists the codes it may carry."""
    return _error(description)


ERROR_RESPONSES = {
    400: _error("invalid_input (with fields), parse_error, bad_request, or the operation's own"),
    401: _error(
        "authentication_required / authentication_failed / invalid_session_token / session_expired"
    ),
    403: _error("permission_denied, or the operation's own"),
    404: _error("not_found"),
    409: _error("Conflicts with the current state (the operation's own codes)"),
    413: _error("request_too_large: the body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE"),
    429: _error("throttled: rate limited; retry after Retry-After seconds"),
    503: _error(
        "service_unavailable: the database or cache is briefly unreachable; retry after "
        "Retry-After seconds"
    ),
}

# The public read-only endpoints: no permission needed, but a sent token must be valid (401),
# query parameters valid (400) and the page or object must exist (404).
PUBLIC_ERROR_RESPONSES = {code: ERROR_RESPONSES[code] for code in (400, 401, 404, 429, 503)}


# --- Response headers, added to every operation (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) ---

RETRY_AFTER_HEADER = {
    "schema": {"type": "integer", "minimum": 0},
    "required": True,
    "description": "Seconds to wait before retrying.",
}
# core/idempotency.py's REPLAYED_HEADER; core must not import it here (it imports this module).
REPLAYED_HEADER = "Idempotent-Replayed"
REPLAYED_HEADER_SPEC = {
    "schema": {"type": "string", "enum": ["true"]},
    "description": "Present (true) when the answer is the replay of an earlier request's, sent "
    "again with the same Idempotency-Key and body.",
}


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        parameter.get("in") == "header" and parameter.get("name", "").lower() == "idempotency-key"
        for parameter in operation.get("parameters", [])
    )


def document_response_headers(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Every 429 and 503 sends Retry-After (DRF's throttles, core/errors.py); every success of an
    operation that takes an Idempotency-Key may be a replay (core/idempotency.py answers a replay
    with the first answer's status). Added here so that no view can forget them."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            replays = _takes_idempotency_key(operation)
            for status, response in operation["responses"].items():
                headers = response.setdefault("headers", {})
                if status in ("429", "503"):
                    headers.setdefault("Retry-After", dict(RETRY_AFTER_HEADER))
                elif replays and status.startswith("2"):
                    headers.setdefault(REPLAYED_HEADER, dict(REPLAYED_HEADER_SPEC))
                if not headers:
                    del response["headers"]
    return result


class SessionTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.SessionTokenAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema: "AutoSchema") -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "Session token from django-allauth headless (app client) login.",
        }
