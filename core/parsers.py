"""The API's JSON parser: DRF's, safe against deeply nested JSON.

Deeply nested JSON (``[[[[...`` ten thousand deep) makes Python's decoder raise
``RecursionError``, which is not a ``ValueError``: DRF's parser lets it through and the request
ends as a 500. Here it is a 400 ``parse_error`` like any other unreadable body. (The body's size
is bounded before parsing: DRF reads it through ``request.body``, which enforces
``DATA_UPLOAD_MAX_MEMORY_SIZE``; core.errors answers that with 413.)
"""

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deeply.")) from None
