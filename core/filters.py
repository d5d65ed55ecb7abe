"""Query parameters through small serializers (HackSoft's ``FilterSerializer`` pattern).

A view declares what its query string may hold as a serializer, reads it with
:func:`parse_query` and documents it with ``@extend_schema(parameters=[FilterSerializer])``: one
declaration is both the check and the OpenAPI description, so the two cannot drift. A bad value
is a 400 ``invalid_input`` with ``fields`` (core.errors), never a 500 and never ignored.
"""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request


def parse_query(
    serializer_class: type[serializers.Serializer[Any]], request: Request
) -> dict[str, Any]:
    """The request's query parameters, validated by ``serializer_class`` (400 when invalid).

    A plain dict, not the QueryDict: DRF reads an empty form value as "not given", so ``?status=``
    would silently mean the default; as JSON-like input it is checked like any other value. A
    repeated parameter counts once, with its last value (as ``QueryDict.get`` reads it).
    """
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class DigitsField(serializers.IntegerField):
    """A whole number written in at most ``max_digits`` ASCII digits: not ``-1``, ``+1``,
    ``1.0``, `` 1`` or another script's digits, which ``int()`` would accept."""

    def __init__(self, *, max_digits: int, **kwargs: Any) -> None:
        self.max_digits = max_digits
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 10**max_digits - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        text = str(data)
        if not (text.isascii() and text.isdigit() and len(text) <= self.max_digits):
            self.fail("invalid")
        return super().to_internal_value(text)
