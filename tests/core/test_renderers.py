"""The orjson renderer (core/renderers.py) writes the bytes DRF's JSONRenderer writes."""

import datetime
import decimal
import uuid
from collections import OrderedDict

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from core.renderers import JSONRenderer
from tests.factories import PollFactory

KST = datetime.timezone(datetime.timedelta(hours=9))

SAMPLES = [
    {"a": 1, "b": [1.5, None, True, False], "c": "서울특별시 종로구"},
    {"when": datetime.datetime(2026, 12, 1, 11, 49, 3, 123456, tzinfo=datetime.UTC)},
    {"when": datetime.datetime(2026, 12, 1, 20, 49, 3, tzinfo=KST)},
    {"naive": datetime.datetime(2026, 12, 1, 11, 49), "day": datetime.date(2026, 12, 1)},  # noqa: DTZ001
    {"t": datetime.time(9, 30, 15, 250000), "span": datetime.timedelta(hours=1, seconds=3)},
    {"d": decimal.Decimal("12.50"), "u": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"lazy": gettext_lazy("This field is required."), "err": ErrorDetail("bad", code="x")},
    {"sep": "line\u2028paragraph\u2029end", "quote": 'a "b" \\ c', "ctl": "\x00\x1f"},
    ReturnDict({"x": ReturnList([1, 2], serializer=None)}, serializer=None),
    OrderedDict([("z", 1), ("a", 2)]),
    {1: "int key", "big": 2**70},
    [{"nested": {"deep": [[[]]]}}, (1, 2)],
    "just a string",
    [],
]


@pytest.mark.parametrize("data", SAMPLES)
def test_same_bytes_as_drf(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_the_settings_it_copies_are_drfs_defaults():
    # The orjson path writes compact UTF-8; DRF does so only under these settings.
    assert api_settings.UNICODE_JSON and api_settings.COMPACT_JSON and api_settings.STRICT_JSON


def test_none_renders_empty():
    assert JSONRenderer().render(None) == b""


def test_indent_requested_pretty_prints_as_drf():
    data = {"a": [1, {"b": "서울"}]}
    media = "application/json; indent=4"
    assert JSONRenderer().render(data, media, {}) == renderers.JSONRenderer().render(
        data, media, {}
    )


def test_unknown_type_fails_as_drf():
    with pytest.raises(TypeError):
        renderers.JSONRenderer().render({"x": object()})
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/polls/", "/api/v1/me/", "/api/v1/districts/"])
def test_endpoints_body_is_drfs(citizen_api, path):
    PollFactory()
    PollFactory()
    response = citizen_api.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == renderers.JSONRenderer().render(response.data)


@pytest.mark.django_db
def test_poll_detail_and_errors_are_drfs(citizen_api):
    poll = PollFactory()
    for path in (f"/api/v1/polls/{poll.pk}/", "/api/v1/polls/999999/"):
        response = citizen_api.get(path)
        assert response.content == renderers.JSONRenderer().render(response.data), path
    bad = citizen_api.post(f"/api/v1/polls/{poll.pk}/ballots/", {"options": "x"}, format="json")
    assert bad.status_code == 400
    assert bad.content == renderers.JSONRenderer().render(bad.data)
