"""The FCM backend against a local FCM (tests/notifications/fake_fcm.py) that speaks the HTTP v1
API and Google's OAuth token endpoint: what reaches the phone, which tokens are retired by the
worker, what is retried and when, and the access token reused."""

import hashlib
import logging

import pytest
from celery.signals import task_retry

from notifications import delivery, push, tasks
from notifications.models import Device, Notification, OutboxEvent
from notifications.push_providers.fcm import FCMPushBackend
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory
from tests.notifications import fake_fcm
from voting import services

pytestmark = pytest.mark.django_db

ROUTER = "notifications.push_providers.routing.PlatformPushBackend"


@pytest.fixture
def fcm(tmp_path, settings):
    settings.PUSH_BACKEND = ROUTER
    with fake_fcm.running(tmp_path, settings) as fake:
        yield fake


def android(citizen, token: str) -> Device:
    return Device.objects.create(user=citizen, token=token, platform="android")


def published_event() -> OutboxEvent:
    services.publish_poll(poll=PollFactory(published=False), by=None)
    event = OutboxEvent.objects.get()
    while delivery.fan_out_batch(event.pk):
        pass
    return event


def run_push_task(event: OutboxEvent) -> None:
    """The worker's task, eagerly in this process (as under `make run`)."""
    tasks.push.apply(args=[event.pk]).get()  # .get(): a failure fails the test


def unpushed() -> int:
    return Notification.objects.filter(pushed_at__isnull=True).count()


def test_a_notification_reaches_the_phone_under_its_outbox_key(fcm):
    citizen = CitizenFactory(district_id=SAJIK)
    android(citizen, "fcm-token-1")
    event = published_event()

    run_push_task(event)

    row = Notification.objects.get(user=citizen)
    [message] = fcm.received
    key = f"n{row.pk}"
    assert message["token"] == "fcm-token-1"
    assert message["android"]["collapse_key"] == key
    assert message["android"]["notification"]["tag"] == key
    assert message["apns"]["headers"]["apns-collapse-id"] == key
    assert message["notification"] == {
        "title": "회원님을 위한 새 투표가 열렸습니다",
        "body": event.payload["title"],
    }
    assert message["data"]["notification_id"] == str(row.pk)
    assert fcm.token_requests == 1
    assert unpushed() == 0


def test_unregistered_and_malformed_tokens_are_retired_by_the_worker(fcm):
    citizen = CitizenFactory(district_id=SAJIK)
    for token in ("uninstalled", "malformed", "kept"):
        android(citizen, token)
    fcm.script("uninstalled", "unregistered")  # 404 UNREGISTERED
    fcm.script("malformed", "invalid")  # 400, FcmError INVALID_ARGUMENT
    event = published_event()

    run_push_task(event)

    assert list(Device.objects.values_list("token", flat=True)) == ["kept"]
    assert [m["token"] for m in fcm.received] == ["kept"]
    assert unpushed() == 0


def test_a_message_fcm_calls_malformed_retires_no_device(fcm):
    citizen = CitizenFactory(district_id=SAJIK)
    android(citizen, "fine-token")
    fcm.script("fine-token", "bad_payload")  # 400 with only a BadRequest field violation
    event = published_event()

    run_push_task(event)

    assert Device.objects.filter(token="fine-token").exists()
    assert fcm.received == []
    assert unpushed() == 0  # dropped: a retry would be refused the same way


def test_rate_limited_the_batch_is_refused_and_the_outbox_retries_after_retry_after(fcm):
    citizen = CitizenFactory(district_id=SAJIK)
    android(citizen, "busy-token")
    fcm.retry_after = "7"
    fcm.script("busy-token", "quota", "quota")  # 429 QUOTA_EXCEEDED, twice
    event = published_event()

    with pytest.raises(push.PushError) as refused:
        delivery.push_batch(event.pk)
    assert refused.value.retry_after == 7
    assert unpushed() == 1  # rolled back: nothing marked pushed

    countdowns = []

    def on_retry(sender, reason, **kwargs):
        countdowns.append(reason.when)

    task_retry.connect(on_retry)
    try:
        run_push_task(event)  # refused once more, retried (eagerly here), then accepted
    finally:
        task_retry.disconnect(on_retry)
    assert countdowns == [7]
    assert [m["token"] for m in fcm.received] == ["busy-token"]
    assert [status for _, status, _ in fcm.refused] == [429, 429]
    assert Device.objects.filter(token="busy-token").exists()
    assert unpushed() == 0


@pytest.mark.parametrize("answer", ["unavailable", "internal"])
def test_an_outage_refuses_the_batch_and_retires_nothing(fcm, answer):
    citizen = CitizenFactory(district_id=SAJIK)
    android(citizen, "token-a")
    android(citizen, "token-b")
    fcm.script("token-a", answer)
    event = published_event()

    with pytest.raises(push.PushError) as refused:
        delivery.push_batch(event.pk)

    assert refused.value.retry_after is None
    assert unpushed() == 1
    assert Device.objects.count() == 2
    # The next attempt (the retried task, or the scan) sends again; token-b's copy collapses
    # on the phone under the same key.
    delivery.push_batch(event.pk)
    assert unpushed() == 0
    keys = {m["android"]["collapse_key"] for m in fcm.received}
    assert len(keys) == 1 and sorted(m["token"] for m in fcm.received) == [
        "token-a",
        "token-b",
        "token-b",
    ]


def test_an_unreachable_fcm_refuses_the_batch(fcm, settings):
    android(CitizenFactory(district_id=SAJIK), "token-a")
    event = published_event()
    fcm.stop()  # connection refused

    with pytest.raises(push.PushError):
        delivery.push_batch(event.pk)
    assert unpushed() == 1
    fcm.start()  # for the fixture's stop()


def test_the_access_token_is_fetched_once_and_reused_across_batches(fcm, settings):
    settings.NOTIFY_PUSH_BATCH = 1
    for i in range(3):
        android(CitizenFactory(district_id=SAJIK), f"token-{i}")
    event = published_event()

    run_push_task(event)  # three batches, three backend instances

    assert len(fcm.received) == 3
    assert fcm.token_requests == 1
    assert len(fcm.issued) == 1


def test_a_revoked_access_token_is_replaced_and_the_send_repeated_once(fcm, settings):
    settings.NOTIFY_PUSH_BATCH = 1
    for i in range(2):
        android(CitizenFactory(district_id=SAJIK), f"token-{i}")
    event = published_event()
    assert delivery.push_batch(event.pk) == 1
    fcm.revoke_tokens()  # FCM now answers 401 UNAUTHENTICATED to the cached token

    assert delivery.push_batch(event.pk) == 1

    assert fcm.token_requests == 2
    assert sorted(m["token"] for m in fcm.received) == ["token-0", "token-1"]
    assert unpushed() == 0


def test_a_key_longer_than_64_bytes_is_sent_as_its_hash(fcm):
    key = "poll-opened-" + "x" * 80
    message = push.PushMessage(key=key, user_id=1, title="t", body="b", tokens=("token-a",))

    with FCMPushBackend() as backend:
        assert backend.send_messages([message]) == 1

    [received] = fcm.received
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert received["android"]["collapse_key"] == digest
    assert received["apns"]["headers"]["apns-collapse-id"] == digest


def test_no_token_or_text_is_logged(fcm, caplog):
    caplog.set_level(logging.DEBUG)
    citizen = CitizenFactory(district_id=SAJIK)
    android(citizen, "secret-token-kept")
    android(citizen, "secret-token-gone")
    fcm.script("secret-token-gone", "unregistered")
    event = published_event()
    caplog.clear()  # what the test's factories logged (the poll's title among it)

    run_push_task(event)

    assert "provider=fcm" in caplog.text  # the backend did log its counts
    for secret in ("secret-token", event.payload["title"], "ya29.", "BEGIN PRIVATE KEY"):
        assert secret not in caplog.text


async def test_a_backend_called_inside_an_event_loop_sends_from_a_thread_of_its_own(fcm):
    message = push.PushMessage(key="n1", user_id=1, title="t", body="b", tokens=("token-a",))

    with FCMPushBackend() as backend:  # no database: the message names its token
        assert backend.send_messages([message]) == 1

    assert [m["token"] for m in fcm.received] == ["token-a"]
