from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


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

    def get_page_number(self, request: Request, paginator: Paginator[Any]) -> int | str:
        # DRF reads an empty ``?page=`` as page 1; it is as invalid as ``?page=abc`` (404).
        raw = request.query_params.get(self.page_query_param)
        if raw == "":
            return raw
        return super().get_page_number(request, paginator)
