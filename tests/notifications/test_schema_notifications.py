"""Notification settings, inbox and devices as the OpenAPI schema describes them to app
developers: the kind as an enum, every key of an answer required, and every real answer
matching its schema with no undocumented key."""

import pytest

from notifications import delivery
from notifications.models import Kind, OutboxEvent
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory
from tests.schema_answers import (
    assert_documented,
    component,
    documented_statuses,
    operation,
    ref_of,
)
from voting import services

pytestmark = pytest.mark.django_db

PREFS = "/api/v1/me/notifications/"
INBOX = "/api/v1/me/inbox/"
DEVICES = "/api/v1/me/devices/"
KEY = "0b9f6c1e-2a57-4d0c-9a55-6f1c2d3e4f50"


def test_a_notifications_kind_is_an_enum_of_the_models_kinds():
    kind = component("Notification")["properties"]["kind"]

    assert ref_of(kind) == "NotificationKindEnum"
    assert component("NotificationKindEnum")["enum"] == [
        "poll_opened",
        "poll_closing",
        "outcome",
        "proposal",
    ]
    assert component("NotificationKindEnum")["enum"] == list(Kind.values)


def test_every_key_of_a_notification_and_of_the_preferences_is_required():
    for name in ("Notification", "Preferences", "UnreadCount", "Device"):
        schema = component(name)
        assert set(schema["required"]) == set(schema["properties"]), name
    # The change names only the kinds to change: none is required there.
    assert "required" not in component("PatchedPreferencesRequest")
    assert set(component("Preferences")["properties"]) == set(Kind.values)


def test_the_device_token_in_the_path_is_bounded_as_in_the_body():
    (token,) = operation("DELETE", "/api/v1/me/devices/{token}/")["parameters"]

    assert token["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
    assert component("DeviceRequest")["properties"]["token"]["maxLength"] == 255


def test_each_operation_documents_the_errors_it_can_give():
    assert documented_statuses("GET", PREFS) == {200, 401, 503}
    assert documented_statuses("PATCH", PREFS) == {200, 400, 401, 403, 413, 415, 503}
    assert documented_statuses("GET", INBOX) == {200, 400, 401, 404, 503}
    assert documented_statuses("POST", "/api/v1/me/inbox/read/") == {
        200,
        400,
        401,
        403,
        413,
        415,
        503,
    }
    # Registering takes an Idempotency-Key: the same key with another body is a 422.
    assert documented_statuses("POST", DEVICES) == {201, 400, 401, 403, 413, 415, 422, 503}
    assert documented_statuses("DELETE", "/api/v1/me/devices/{token}/") == {
        204,
        401,
        403,
        404,
        503,
    }


def _told(poll_title: str) -> None:
    poll = PollFactory(published=False, title=poll_title)
    services.publish_poll(poll=poll, by=None)
    delivery.deliver(OutboxEvent.objects.get(subject_id=poll.pk).pk)


def test_inbox_and_preferences_answers_match_the_schema(client_for):
    me = CitizenFactory(district_id=SAJIK)
    _told("버스 노선 개편")
    client = client_for(me)

    answers = [
        client.get(INBOX),
        client.post("/api/v1/me/inbox/read/", {}, format="json"),
        client.get(PREFS),
        client.patch(PREFS, {"outcome": False}, format="json"),
        client.patch(PREFS, {"marketing": True}, format="json"),
        client.get(INBOX, {"page": 9}),
    ]

    assert [r.status_code for r in answers] == [200, 200, 200, 200, 400, 404]
    assert answers[0].json()["results"][0]["kind"] == "poll_opened"
    for response in answers:
        assert_documented(response)


def test_device_answers_match_the_schema(citizen_api):
    device = {"token": "fcm-token-1", "platform": "android"}

    registered = citizen_api.post(DEVICES, device, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    replayed = citizen_api.post(DEVICES, device, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    mismatch = citizen_api.post(
        DEVICES, {**device, "platform": "ios"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )
    not_json = citizen_api.post(DEVICES, "token=x", content_type="text/plain")
    removed = citizen_api.delete(f"{DEVICES}fcm-token-1/")
    unknown = citizen_api.delete(f"{DEVICES}fcm-token-1/")

    answers = [registered, replayed, mismatch, not_json, removed, unknown]
    assert [r.status_code for r in answers] == [201, 201, 422, 415, 204, 404]
    assert replayed["Idempotent-Replayed"] == "true"
    assert removed.content == b""
    for response in answers:
        assert_documented(response)
