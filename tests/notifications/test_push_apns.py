"""The APNs backend against a local APNs (tests/notifications/fake_apns.py) speaking Apple's
provider API over HTTP/2 and TLS and checking the ES256 provider token: what reaches the phone,
which tokens the worker retires, what is retried, the provider token's renewal, and the router
sending each device to its platform's provider."""

import hashlib
import logging
import time

import pytest
import time_machine
from celery.signals import task_retry
from django.core.exceptions import ImproperlyConfigured

from notifications import delivery, push, tasks
from notifications.models import Device, Notification, OutboxEvent
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory
from tests.notifications import fake_apns, fake_fcm
from voting import services

pytestmark = pytest.mark.django_db

ROUTER = "notifications.push_providers.routing.PlatformPushBackend"


@pytest.fixture
def apns(tmp_path, settings):
    settings.PUSH_BACKEND = ROUTER
    with fake_apns.running(tmp_path, settings) as fake:
        yield fake


def device_token(name: str) -> str:
    """An APNs device token's form: 32 bytes in hex."""
    return hashlib.sha256(name.encode()).hexdigest()


def iphone(citizen, name: str) -> Device:
    return Device.objects.create(user=citizen, token=device_token(name), platform="ios")


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


def test_a_notification_reaches_the_iphone_over_http2_under_its_outbox_key(apns):
    citizen = CitizenFactory(district_id=SAJIK)
    iphone(citizen, "phone")
    event = published_event()
    before = int(time.time())

    run_push_task(event)

    row = Notification.objects.get(user=citizen)
    [sent] = apns.received
    assert sent.http_version == "2"
    assert sent.token == device_token("phone")
    assert sent.headers["apns-collapse-id"] == f"n{row.pk}"
    assert sent.headers["apns-topic"] == "kr.go.seoul.mvoting"
    assert sent.headers["apns-push-type"] == "alert"
    assert before + 86400 <= int(sent.headers["apns-expiration"]) <= time.time() + 86400
    assert sent.payload["aps"]["alert"] == {
        "title": "회원님을 위한 새 투표가 열렸습니다",
        "body": event.payload["title"],
    }
    assert sent.payload["notification_id"] == str(row.pk)
    assert sent.jwt_claims["iss"] == apns.team_id  # signature and kid checked by the server
    assert unpushed() == 0


def test_unregistered_and_bad_device_tokens_are_retired_by_the_worker(apns):
    citizen = CitizenFactory(district_id=SAJIK)
    iphone(citizen, "uninstalled")
    iphone(citizen, "kept")
    Device.objects.create(user=citizen, token="not-an-apns-token", platform="ios")
    apns.script(device_token("uninstalled"), "unregistered")  # 410 Unregistered
    event = published_event()

    run_push_task(event)  # "not-an-apns-token": 400 BadDeviceToken

    assert list(Device.objects.values_list("token", flat=True)) == [device_token("kept")]
    assert sorted(reason for _, _, reason in apns.refused) == ["BadDeviceToken", "Unregistered"]
    assert [sent.token for sent in apns.received] == [device_token("kept")]
    assert unpushed() == 0


def test_too_many_requests_refuses_the_batch_and_the_outbox_retries_it(apns):
    citizen = CitizenFactory(district_id=SAJIK)
    iphone(citizen, "busy")
    apns.script(device_token("busy"), "too_many", "too_many")  # 429 TooManyRequests, twice
    event = published_event()

    with pytest.raises(push.PushError) as refused:
        delivery.push_batch(event.pk)
    assert refused.value.retry_after is None  # Apple sends no Retry-After
    assert unpushed() == 1

    countdowns = []

    def on_retry(sender, reason, **kwargs):
        countdowns.append(reason.when)

    task_retry.connect(on_retry)
    try:
        run_push_task(event)  # refused once more, retried (eagerly here), then accepted
    finally:
        task_retry.disconnect(on_retry)
    assert countdowns == [30.0]  # the task's own wait when the provider names none
    assert [sent.token for sent in apns.received] == [device_token("busy")]
    assert Device.objects.count() == 1
    assert unpushed() == 0


@pytest.mark.parametrize("answer", ["unavailable", "internal"])
def test_an_outage_refuses_the_batch_and_retires_nothing(apns, answer):
    citizen = CitizenFactory(district_id=SAJIK)
    iphone(citizen, "a")
    iphone(citizen, "b")
    apns.script(device_token("a"), answer)  # 503 ServiceUnavailable / 500 InternalServerError
    event = published_event()

    with pytest.raises(push.PushError):
        delivery.push_batch(event.pk)

    assert unpushed() == 1
    assert Device.objects.count() == 2
    delivery.push_batch(event.pk)  # the retry
    assert unpushed() == 0
    assert len({sent.headers["apns-collapse-id"] for sent in apns.received}) == 1


def test_an_unreachable_apns_refuses_the_batch(apns, settings):
    iphone(CitizenFactory(district_id=SAJIK), "a")
    event = published_event()
    settings.APNS_ENDPOINT = "https://127.0.0.1:9"  # nothing listens: connection refused

    with pytest.raises(push.PushError):
        delivery.push_batch(event.pk)
    assert unpushed() == 1


def test_a_server_with_an_untrusted_certificate_is_refused(apns, settings):
    iphone(CitizenFactory(district_id=SAJIK), "a")
    event = published_event()
    settings.PUSH_CA_FILE = ""  # the system's trust store: the fake's CA is not in it

    with pytest.raises(push.PushError):
        delivery.push_batch(event.pk)
    assert apns.received == [] and unpushed() == 1


def test_the_provider_token_is_reused_and_renewed_before_an_hour(apns, settings):
    settings.NOTIFY_PUSH_BATCH = 1
    for name in ("a", "b", "c"):
        iphone(CitizenFactory(district_id=SAJIK), name)
    event = published_event()
    start = time.time()

    with time_machine.travel(start, tick=True) as traveller:
        assert delivery.push_batch(event.pk) == 1
        traveller.shift(10 * 60)
        assert delivery.push_batch(event.pk) == 1  # the same token, 10 minutes old
        traveller.shift(45 * 60)
        assert delivery.push_batch(event.pk) == 1  # 55 minutes: a new one (Apple: < 1 hour)

    first, second, third = (sent.headers["authorization"] for sent in apns.received)
    assert first == second != third
    iats = [sent.jwt_claims["iat"] for sent in apns.received]
    assert iats[0] == iats[1] and iats[2] - iats[0] >= 55 * 60
    assert apns.refused == []


def test_an_expired_provider_token_is_renewed_and_the_send_repeated_once(apns, settings):
    settings.NOTIFY_PUSH_BATCH = 1
    iphone(CitizenFactory(district_id=SAJIK), "a")
    iphone(CitizenFactory(district_id=SAJIK), "b")
    event = published_event()
    start = time.time()

    with time_machine.travel(start, tick=True) as traveller:
        assert delivery.push_batch(event.pk) == 1
        traveller.shift(30 * 60)
        # Apple's clock disagrees: the cached 30-minute-old token is called expired.
        second = Notification.objects.filter(pushed_at__isnull=True).get()
        token = Device.objects.get(user_id=second.user_id).token
        apns.script(token, "expired_jwt")
        assert delivery.push_batch(event.pk) == 1

    assert [reason for _, _, reason in apns.refused] == ["ExpiredProviderToken"]
    tokens = [sent.headers["authorization"] for sent in apns.received]
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert apns.received[1].jwt_claims["iat"] >= int(start) + 30 * 60
    assert unpushed() == 0


def test_no_token_or_text_is_logged(apns, caplog):
    caplog.set_level(logging.DEBUG)
    citizen = CitizenFactory(district_id=SAJIK)
    iphone(citizen, "kept")
    iphone(citizen, "gone")
    apns.script(device_token("gone"), "unregistered")
    event = published_event()
    caplog.clear()  # what the test's factories logged (the poll's title among it)

    run_push_task(event)

    assert "provider=apns" in caplog.text  # the backend did log its counts
    for secret in (device_token("kept"), device_token("gone"), event.payload["title"], "bearer"):
        assert secret not in caplog.text


# --- The router: each device to its platform's provider ------------------------------------------


@pytest.fixture
def fcm(tmp_path, settings):
    with fake_fcm.running(tmp_path, settings) as fake:
        yield fake


def test_each_device_goes_to_its_platforms_provider_under_one_collapse_id(apns, fcm):
    citizen = CitizenFactory(district_id=SAJIK)
    iphone(citizen, "iphone")
    Device.objects.create(user=citizen, token="android-token", platform="android")
    event = published_event()

    run_push_task(event)

    key = f"n{Notification.objects.get().pk}"
    assert [(s.token, s.headers["apns-collapse-id"]) for s in apns.received] == [
        (device_token("iphone"), key)
    ]
    assert [(m["token"], m["android"]["collapse_key"]) for m in fcm.received] == [
        ("android-token", key)
    ]


def test_an_apns_outage_does_not_hold_back_android_phones(apns, fcm):
    citizen = CitizenFactory(district_id=SAJIK)
    iphone(citizen, "iphone")
    Device.objects.create(user=citizen, token="android-token", platform="android")
    apns.script(device_token("iphone"), "unavailable")
    event = published_event()

    with pytest.raises(push.PushError):
        delivery.push_batch(event.pk)

    assert [m["token"] for m in fcm.received] == ["android-token"]  # told already
    assert unpushed() == 1  # and the batch retried for the iPhone
    delivery.push_batch(event.pk)
    assert len(apns.received) == 1 and unpushed() == 0


def test_an_iphone_without_apns_settings_is_a_configuration_error_not_a_loss(settings):
    settings.PUSH_BACKEND = ROUTER
    settings.APNS_KEY_FILE = ""
    iphone(CitizenFactory(district_id=SAJIK), "a")
    event = published_event()

    with pytest.raises(ImproperlyConfigured, match="APNS_KEY_FILE"):
        delivery.push_batch(event.pk)
    assert unpushed() == 1  # waits for an operator; the scan tries again
