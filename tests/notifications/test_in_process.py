"""The embedded default (`make run`): no broker, no worker process; the server's own scheduler
thread delivers the outbox, outside the request that caused the event."""

import time

import pytest

from notifications.models import Notification, OutboxEvent
from tests.district_codes import SAJIK
from tests.factories import CitizenFactory, PollFactory
from tests.reliability.servers import DaphneServer
from voting import services

# The server process must see the test's rows: PostgreSQL (SQLite's test database lives in
# this process's memory).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_server_delivers_events_on_its_scheduler_thread():
    citizens = CitizenFactory.create_batch(3, district_id=SAJIK)
    server = DaphneServer(
        "in-process",
        TASKS_IN_PROCESS="1",
        NOTIFY_SCAN_SECONDS="0.5",
        NOTIFY_QUIET_HOURS="",  # whatever the hour in Seoul
        REDIS_URL="",  # the embedded default: no broker, Celery runs tasks in process
        CELERY_BROKER_URL="memory://localhost/",
        PUSH_BACKEND="notifications.push.LogPushBackend",
    ).start()
    try:
        server.wait_healthy()
        poll = PollFactory(published=False)
        services.publish_poll(poll=poll, by=None)
        event = OutboxEvent.objects.get()

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not Notification.objects.filter(event=event, pushed_at__isnull=True).exists() and (
                Notification.objects.filter(event=event).count() == len(citizens)
            ):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the server's scheduler did not deliver the event:\n{server.output()}")
    finally:
        server.stop()

    event.refresh_from_db()
    assert event.fanned_out_at is not None
    assert set(Notification.objects.values_list("user_id", flat=True)) == {c.pk for c in citizens}
