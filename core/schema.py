"""OpenAPI pieces shared by every endpoint: the error body and the session-token scheme."""

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema


class ErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable snake_case error code")
    detail = serializers.CharField(help_text="Human-readable text in the request's language")
    # The body's key is "fields", which shadows Serializer.fields for the type checker only: DRF
    # moves declared fields out of the class body.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages, for validation errors only",
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


ERROR_RESPONSES = {
    400: _error("Invalid input"),
    401: _error("authentication_required / invalid_session_token"),
    403: _error("Not allowed"),
    404: _error("not_found"),
    409: _error("Conflicts with the current state"),
    413: _error("request_too_large: the body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE"),
    429: _error("Rate limited (see Retry-After)"),
    503: _error("service_unavailable: the database is briefly unreachable (see Retry-After)"),
}

# The public read-only endpoints: no permission needed, but a sent token must be valid (401),
# query parameters valid (400) and the page or object must exist (404).
PUBLIC_ERROR_RESPONSES = {code: ERROR_RESPONSES[code] for code in (400, 401, 404, 429, 503)}


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
