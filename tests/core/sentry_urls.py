"""A URL conf for tests/core/test_sentry.py: a view that fails with personal data in hand."""

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import path

logger = logging.getLogger("tests.sentry")

PHONE = "+821012345678"
TOKEN = "token-secret-xyz0123456789"


def boom(request: HttpRequest) -> HttpResponse:
    phone = PHONE  # a local variable: frames' locals must not be sent
    logger.warning("looking up 010-1234-5678 for session_token=%s", TOKEN)
    raise ValueError(f"no voter {phone} with session_token={TOKEN}")


urlpatterns = [path("api/v1/boom/", boom)]
