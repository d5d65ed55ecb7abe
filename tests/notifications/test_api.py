"""The citizen's notification settings, inbox and devices, through the API."""

import pytest

from notifications import delivery
from notifications.models import Device, Kind, Notification, OptOut, OutboxEvent
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory
from voting import services

pytestmark = pytest.mark.django_db

PREFS = "/api/v1/me/notifications/"
INBOX = "/api/v1/me/inbox/"


def test_every_kind_is_on_by_default(citizen_api):
    response = citizen_api.get(PREFS)
    assert response.status_code == 200
    assert response.json() == {
        "poll_opened": True,
        "poll_closing": True,
        "outcome": True,
        "proposal": True,
    }


def test_turning_kinds_off_and_on(citizen, citizen_api):
    response = citizen_api.patch(PREFS, {"poll_closing": False, "proposal": False}, format="json")
    assert response.status_code == 200
    assert response.json()["poll_closing"] is False
    assert set(OptOut.objects.filter(user=citizen).values_list("kind", flat=True)) == {
        "poll_closing",
        "proposal",
    }

    response = citizen_api.patch(PREFS, {"proposal": True}, format="json")
    assert response.json() == {
        "poll_opened": True,
        "poll_closing": False,
        "outcome": True,
        "proposal": True,
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"marketing": True}, "unknown_notification_kind"),
        ({"outcome": "maybe"}, "invalid_input"),
        ({"outcome": 0}, "invalid_input"),  # the schema says boolean: 0 is not false here
        (["outcome"], "invalid_body"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(citizen, citizen_api, body, code):
    response = citizen_api.patch(PREFS, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not OptOut.objects.filter(user=citizen).exists()


def _told(*citizens, title="버스 노선 개편"):
    poll = PollFactory(published=False, title=title)
    services.publish_poll(poll=poll, by=None)
    event = OutboxEvent.objects.get(subject_id=poll.pk)
    delivery.deliver(event.pk)
    return poll


def test_the_inbox_lists_my_notifications_newest_first_with_the_unread_count(
    client_for, django_assert_max_num_queries
):
    me = CitizenFactory(district_id=SAJIK)
    other = CitizenFactory(district_id=SAJIK)
    first = _told(me, other, title="첫 번째")
    second = _told(me, other, title="두 번째")

    client = client_for(me)
    # the session, the user, the count, the page, the unread count
    with django_assert_max_num_queries(5):
        response = client.get(INBOX)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["unread"] == 2
    assert [(n["poll_id"], n["body"]) for n in body["results"]] == [
        (second.pk, "두 번째"),
        (first.pk, "첫 번째"),
    ]
    item = body["results"][0]
    assert set(item) == {
        "id",
        "kind",
        "title",
        "body",
        "poll_id",
        "proposal_id",
        "created_at",
        "read",
    }
    assert (item["kind"], item["proposal_id"], item["read"]) == ("poll_opened", None, False)
    mine = set(Notification.objects.filter(user=me).values_list("pk", flat=True))
    assert {n["id"] for n in body["results"]} == mine


def test_the_inbox_speaks_the_readers_language(client_for):
    me = CitizenFactory(district_id=SAJIK)
    _told(me)
    korean = client_for(me).get(INBOX).json()["results"][0]["title"]
    english = client_for(me).get(INBOX, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]["title"]
    assert (korean, english) == ("회원님을 위한 새 투표가 열렸습니다", "A new poll for you")


def test_marking_read_touches_only_my_own(client_for):
    me = CitizenFactory(district_id=SAJIK)
    other = CitizenFactory(district_id=SAJIK)
    _told(me, other)
    _told(me, other)
    mine = list(Notification.objects.filter(user=me).order_by("pk").values_list("pk", flat=True))
    theirs = list(Notification.objects.filter(user=other).values_list("pk", flat=True))

    response = client_for(me).post(f"{INBOX}read/", {"ids": [mine[0], *theirs]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"unread": 1}
    assert not Notification.objects.filter(user=other, read_at__isnull=False).exists()

    response = client_for(me).post(f"{INBOX}read/", {}, format="json")
    assert response.json() == {"unread": 0}
    assert client_for(me).get(INBOX).json()["results"][0]["read"] is True


def test_registering_a_device_moves_its_token_to_whoever_signed_in_last(client_for):
    first, second = CitizenFactory.create_batch(2)
    body = {"token": "fcm:abc-123_x", "platform": "android"}

    assert client_for(first).post("/api/v1/me/devices/", body, format="json").status_code == 201
    assert client_for(first).post("/api/v1/me/devices/", body, format="json").status_code == 201
    assert client_for(second).post("/api/v1/me/devices/", body, format="json").status_code == 201

    assert list(Device.objects.values_list("user_id", "token")) == [(second.pk, "fcm:abc-123_x")]


@pytest.mark.parametrize(
    "body",
    [
        {"token": 12345, "platform": "ios"},
        {"token": "has space", "platform": "ios"},
        {"token": "a" * 256, "platform": "ios"},
        {"token": "ok", "platform": "blackberry"},
        {"platform": "ios"},
    ],
)
def test_bad_devices_are_refused(citizen_api, body):
    response = citizen_api.post("/api/v1/me/devices/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_input", "invalid", "required"}
    assert not Device.objects.exists()


def test_unregistering_only_my_own_device(client_for):
    me, other = CitizenFactory.create_batch(2)
    Device.objects.create(user=other, token="theirs", platform="ios")
    Device.objects.create(user=me, token="mine", platform="ios")

    assert client_for(me).delete("/api/v1/me/devices/theirs/").status_code == 404
    assert client_for(me).delete("/api/v1/me/devices/mine/").status_code == 204
    assert list(Device.objects.values_list("token", flat=True)) == ["theirs"]


def test_opting_out_stops_that_kind_for_me_only(client_for):
    me = CitizenFactory(district_id=SAJIK)
    other = CitizenFactory(district_id=SAJIK)
    client_for(me).patch(PREFS, {Kind.POLL_OPENED: False}, format="json")
    _told(me, other)
    assert list(Notification.objects.values_list("user_id", flat=True)) == [other.pk]


def test_the_inbox_needs_a_session(api):
    response = api.get(INBOX)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_required"


def test_operators_see_the_outbox_progress_but_no_recipients(client):
    from tests.factories import OfficialFactory

    me = CitizenFactory(district_id=SAJIK, phone="+821055550000")
    poll = _told(me, title="공개 제목")
    client.force_login(OfficialFactory(is_superuser=True))

    page = client.get("/admin/notifications/outboxevent/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "+821055550000" not in text and "5555" not in text
    event = OutboxEvent.objects.get()
    assert event.subject_id == poll.pk
    row = page.context["cl"].result_list[0]
    assert (row.recipients, row._unpushed) == (1, 0)
    detail = client.get(f"/admin/notifications/outboxevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert "+821055550000" not in detail.content.decode()
