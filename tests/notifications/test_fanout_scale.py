"""A city-wide poll told to the bench's population: 100,000 citizens, in batched queries."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.data import load_citizens
from notifications import delivery, push
from notifications.models import Notification, OutboxEvent
from tests.factories import PollFactory
from voting import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CITIZENS = 100_000


def test_a_city_wide_poll_reaches_100k_citizens_once_each_in_batches(settings):
    load_citizens(CITIZENS)  # the bench's data set (bench/data.py), by COPY
    poll = PollFactory(published=False)  # all of Seoul
    services.publish_poll(poll=poll, by=None)
    event = OutboxEvent.objects.get()

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        delivery.deliver(event.pk)
    elapsed = time.perf_counter() - started

    assert Notification.objects.filter(event=event).count() == CITIZENS
    assert Notification.objects.filter(event=event, pushed_at__isnull=True).count() == 0
    assert len(push.outbox) == CITIZENS
    assert len({m.key for m in push.outbox}) == CITIZENS
    assert len({m.user_id for m in push.outbox}) == CITIZENS
    # Batched: a fixed number of queries per batch, never one per citizen.
    fanout_batches = CITIZENS // settings.NOTIFY_FANOUT_BATCH + 1
    push_batches = CITIZENS // settings.NOTIFY_PUSH_BATCH + 1
    assert len(queries) <= 10 * fanout_batches + 8 * push_batches
    print(f"\n100k fan-out + push: {elapsed:.1f} s, {len(queries)} queries")
