"""The API's JSON renderer: DRF's output, encoded by orjson.

Same bytes as ``rest_framework.renderers.JSONRenderer`` under the project's settings (compact,
UTF-8 rather than ASCII escapes, U+2028/U+2029 escaped for JavaScript): every type orjson would
write its own way — datetimes, dates, times, Decimals, lazy strings, querysets — is handed to
DRF's own encoder instead, so a response reads as before. orjson encodes the rest (dicts, lists,
strings, numbers, UUIDs — these as DRF does) several times faster than the standard library, which
is what a list page's rendering costs. A pretty-printing request (``Accept: application/json;
indent=4``), an integer past 64 bits and a dict key that is not a string go to DRF's renderer as
before. Two differences, neither reachable from the API's serializers: a float NaN or infinity is
written ``null`` (DRF's strict encoder raised: a 500), and a float's exponent has no ``+``
(``1e16`` for ``1e+16``, the same number).
"""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()
_drf_default = JSONEncoder().default


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        context = renderer_context or {}
        # Pretty-printing is asked by a media-type parameter or the context: parse only then.
        media_type = accepted_media_type or ""
        asks_indent = ";" in media_type or context.get("indent") is not None
        if asks_indent and self.get_indent(media_type, dict(context)) is not None:
            return super().render(data, accepted_media_type, context)
        try:
            out = orjson.dumps(data, default=_drf_default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            # What orjson refuses (non-string keys, 65-bit integers, a type neither encoder
            # knows): DRF's renderer answers exactly as before, error or not.
            return super().render(data, accepted_media_type, context)
        # Both separators start with the byte 0xE2: a one-byte scan (memchr) clears the common
        # case; a search for the three-byte sequences costs more than orjson itself on Korean text.
        if b"\xe2" in out:
            out = out.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return out
