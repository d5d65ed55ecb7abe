import json
import logging

import pytest
from django.http import HttpRequest
from django.test import override_settings
from django.urls import path

from config.logging import JSONFormatter, RedactPersonalData, redact


def _boom(request: HttpRequest):
    raise ValueError("citizen +821012345678 broke it with token abc123")


urlpatterns = [path("api/v1/boom/", _boom)]
handler500 = "core.errors.handler500"


def test_redact_scrubs_phones_and_tokens():
    text = redact("sent to +821012345678 and 010-9876-5432; X-Session-Token: abcDEF123 code=123456")
    assert "+821012345678" not in text
    assert "9876" not in text
    assert "abcDEF123" not in text
    assert "123456" not in text
    # Administrative codes are not phone numbers and stay readable.
    assert redact("/api/v1/districts/1111053000/") == "/api/v1/districts/1111053000/"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_request_error_is_one_json_line_without_personal_data(client):
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    client.raise_request_exception = False
    try:
        response = client.get("/api/v1/boom/", HTTP_X_SESSION_TOKEN="secret-token-value")
    finally:
        logger.removeHandler(handler)

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert len(records) == 1
    record = records[0]
    RedactPersonalData().filter(record)
    line = JSONFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["status"] == 500
    assert entry["path"] == "/api/v1/boom/"
    assert entry["error"] == "ValueError"
    assert "+821012345678" not in line
    assert "secret-token-value" not in line
    assert "abc123" not in line
