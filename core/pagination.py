from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

LAST = "last"


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int | None:
        # DRF ignores a page_size it cannot read and serves the default page, which hides the
        # client's mistake; like any other bad query parameter it is a 400. Too large is capped.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationError({self.page_size_query_param: [_("Send a whole number from 1.")]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        # DRF documents ``page`` as an integer, so a typed client could not ask for ``last``,
        # which every list serves.
        return [
            {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
            for name, schema, text in _parameters()
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Every page carries all four keys; next and previous are null at the ends.
        body = super().get_paginated_response_schema(schema)
        body["required"] = ["count", "next", "previous", "results"]
        body["properties"]["count"]["minimum"] = 0
        return body

    def get_page_number(self, request: Request, paginator: Paginator[Any]) -> int | str:
        # DRF reads an empty ``?page=`` as page 1; it is as invalid as ``?page=abc`` (404).
        raw = request.query_params.get(self.page_query_param)
        if raw == "":
            return raw
        return super().get_page_number(request, paginator)


def _parameters() -> list[tuple[str, dict[str, Any], str]]:
    size, most = Pagination.page_size, Pagination.max_page_size
    return [
        (
            Pagination.page_query_param,
            {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": [LAST]}]},
            "Page number from 1, or 'last'. A page past the end is 404.",
        ),
        (
            Pagination.page_size_query_param,
            {"type": "integer", "minimum": 1},
            f"Items per page: {size} by default; more than {most} is served as {most}.",
        ),
    ]


def schema_parameters() -> list[OpenApiParameter]:
    """The page parameters, for a list view that pages by itself (``page_request``)."""
    return [
        OpenApiParameter(name, schema, OpenApiParameter.QUERY, description=text)
        for name, schema, text in _parameters()
    ]


# Pages of a list whose query counts its own rows (``COUNT(*) OVER ()`` beside each row): the same
# parameters, answers and links as ``Pagination``, without the separate count query.
# Beyond this a page's offset overflows PostgreSQL's bigint: such a page cannot exist (404).
_MAX_OFFSET = 2**53


@dataclass(frozen=True)
class PageRequest:
    number: int | None  # None: the last page ("?page=last")
    size: int


def page_request(request: Request) -> PageRequest:
    """The page asked for: 400 for a bad ``page_size``, 404 for a page that cannot exist."""
    pagination = Pagination()
    size = pagination.get_page_size(request) or pagination.page_size or 20
    raw = request.query_params.get(pagination.page_query_param, "1")
    if raw in pagination.last_page_strings:
        return PageRequest(number=None, size=size)
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= _MAX_OFFSET // size:
        raise NotFound(_("Invalid page."))
    return PageRequest(number=int(raw), size=size)


def last_page(*, count: int, size: int) -> int:
    return max(1, -(-count // size))


def page_body(
    request: Request, *, number: int, size: int, count: int, results: list[Any]
) -> dict[str, Any]:
    """The body ``Pagination`` answers with; a page past the end (but the first) is a 404."""
    if number > last_page(count=count, size=size):
        raise NotFound(_("Invalid page."))
    url = request.build_absolute_uri()
    param = Pagination.page_query_param
    next_url = replace_query_param(url, param, number + 1) if number * size < count else None
    previous_url = None
    if number > 1:
        previous_url = (
            remove_query_param(url, param)
            if number == 2
            else replace_query_param(url, param, number - 1)
        )
    return {"count": count, "next": next_url, "previous": previous_url, "results": results}
