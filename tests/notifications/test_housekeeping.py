"""Housekeeping of the inbox (notifications/housekeeping.py), run from the beat schedule as
``notifications.tasks.purge_old_inbox``: inbox rows past ``NOTIFY_INBOX_RETENTION_DAYS`` go,
their events stay, and an event kept is what stops it being emitted twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config import tasks_in_process
from config.celery import app
from notifications import housekeeping
from notifications.events import emit
from notifications.models import Kind, Notification, OutboxEvent
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

TASK = "notifications.tasks.purge_old_inbox"


def event_with_inbox(key: str, *, age: timedelta, citizens: list) -> OutboxEvent:
    """An event delivered ``age`` ago: its inbox rows, one per citizen, written then."""
    event = emit(Kind.OUTCOME, subject_id=1, dedupe_key=key, payload={"title": key})
    assert event is not None
    when = timezone.now() - age
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=when, fanned_out_at=when)
    Notification.objects.bulk_create(
        [Notification(user=c, event=event, created_at=when, pushed_at=when) for c in citizens]
    )
    return event


def run_scheduled() -> int:
    app.autodiscover_tasks(force=True)
    return app.tasks[TASK].apply().get()


def test_the_schedule_runs_the_purge():
    app.autodiscover_tasks(force=True)
    assert TASK in tasks_in_process.scheduled_tasks()
    assert TASK in app.tasks


def test_old_inbox_rows_go_recent_ones_stay_events_stay_and_twice_is_once(settings):
    settings.NOTIFY_INBOX_RETENTION_DAYS = 30
    citizens = CitizenFactory.create_batch(3)
    old = event_with_inbox("outcome:1", age=timedelta(days=31), citizens=citizens)
    recent = event_with_inbox("outcome:2", age=timedelta(days=29), citizens=citizens)

    assert run_scheduled() == 3
    assert not Notification.objects.filter(event=old).exists()
    assert Notification.objects.filter(event=recent).count() == 3
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {old.pk, recent.pk}

    assert run_scheduled() == 0
    assert Notification.objects.count() == 3


def test_the_kept_event_still_dedupes_after_its_inbox_is_gone(settings):
    """``outcome:<poll>`` is emitted again on every edit of the outcome: were the event deleted
    with its inbox, a year-old poll's voters would all be told again."""
    settings.NOTIFY_INBOX_RETENTION_DAYS = 30
    event_with_inbox("outcome:7", age=timedelta(days=400), citizens=[CitizenFactory()])
    assert run_scheduled() == 1
    assert emit(Kind.OUTCOME, subject_id=7, dedupe_key="outcome:7") is None
    assert OutboxEvent.objects.filter(dedupe_key="outcome:7").count() == 1


def test_rows_the_scan_may_still_push_are_kept_whatever_the_setting(settings):
    """A retention shorter than the scan's resume window (2 days) is not honoured below it: an
    unpushed row of yesterday's event is still on its way."""
    settings.NOTIFY_INBOX_RETENTION_DAYS = 0
    event = emit(Kind.OUTCOME, subject_id=3, dedupe_key="outcome:3")
    assert event is not None
    yesterday = timezone.now() - timedelta(days=1)
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=yesterday)
    Notification.objects.create(user=CitizenFactory(), event=event, created_at=yesterday)
    assert run_scheduled() == 0
    assert Notification.objects.count() == 1


def test_a_run_is_bounded_across_events_and_the_next_goes_on(settings):
    settings.NOTIFY_INBOX_RETENTION_DAYS = 30
    citizens = CitizenFactory.create_batch(3)
    for n in range(3):
        event_with_inbox(f"outcome:{n}", age=timedelta(days=60), citizens=citizens)

    # 9 old rows, 2 a batch, 3 batches a run: the first event (2 + 1) and 2 of the second.
    assert housekeeping.purge_old_inbox(batch_size=2, max_batches=3) == 5
    assert housekeeping.purge_old_inbox(batch_size=2, max_batches=3) == 4
    assert housekeeping.purge_old_inbox(batch_size=2, max_batches=3) == 0
    assert Notification.objects.count() == 0
