"""Per-operation error answers for the OpenAPI schema: only the statuses an operation can give.

``core.schema.ERROR_RESPONSES`` lists every error status the API uses; a generated client takes
each documented status as one it must handle, so an operation documents only its own (a GET
without a body never answers 413 or 415, one without a throttle never 429).
"""

from drf_spectacular.utils import OpenApiResponse

from core.idempotency import MISMATCH_RESPONSE
from core.schema import ERROR_RESPONSES, ErrorSerializer

_EXTRA = {
    415: OpenApiResponse(
        ErrorSerializer, description="unsupported_media_type: the body's Content-Type"
    ),
    **MISMATCH_RESPONSE,
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers for ``statuses``, e.g. ``errors(400, 401, 404, 503)``."""
    known = {**ERROR_RESPONSES, **_EXTRA}
    return {status: known[status] for status in statuses}
