"""Housekeeping of the ballot's idempotency records (voting/idempotency.py ``purge_expired``),
run from the beat schedule as ``voting.tasks.purge_idempotency_keys`` and by hand as
``manage.py purge_idempotency_keys``: one implementation."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from config import tasks_in_process
from config.celery import app
from voting import idempotency
from voting.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

TASK = "voting.tasks.purge_idempotency_keys"


def record(key: str, *, age: timedelta) -> str:
    lookup = idempotency.lookup_for(user_id=1, key=key)
    idempotency.store(
        key=key, lookup=lookup, request_fingerprint="f", status_code=201, body={"k": key}
    )
    IdempotencyRecord.objects.filter(lookup=lookup).update(created_at=timezone.now() - age)
    return lookup


def run_scheduled() -> int:
    app.autodiscover_tasks(force=True)
    return app.tasks[TASK].apply().get()


def test_the_schedule_runs_the_purge():
    app.autodiscover_tasks(force=True)
    assert TASK in tasks_in_process.scheduled_tasks()
    assert TASK in app.tasks


def test_records_past_the_ttl_go_those_within_stay_and_twice_is_once(settings):
    """A phone retrying within the TTL still gets its answer replayed; a record past it (which
    ``find`` no longer replays anyway) is gone. A second run finds nothing to do."""
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    fresh = record("fresh-key-000000", age=timedelta(hours=23))
    stale = [record(f"stale-key-{i:06d}", age=timedelta(hours=25 + i)) for i in range(3)]

    assert run_scheduled() == 3
    assert idempotency.find(lookup=fresh) is not None
    assert not IdempotencyRecord.objects.filter(lookup__in=stale).exists()

    assert run_scheduled() == 0
    assert list(IdempotencyRecord.objects.values_list("lookup", flat=True)) == [fresh]


def test_a_run_is_bounded_and_the_next_goes_on(settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    for i in range(7):
        record(f"stale-key-{i:06d}", age=timedelta(days=3))
    fresh = record("fresh-key-000000", age=timedelta(hours=1))

    assert idempotency.purge_expired(batch_size=3, max_batches=2) == 6
    assert IdempotencyRecord.objects.count() == 2
    assert idempotency.purge_expired(batch_size=3, max_batches=2) == 1
    assert list(IdempotencyRecord.objects.values_list("lookup", flat=True)) == [fresh]


def test_the_command_purges_everything_expired_in_one_go(settings, capsys):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    for i in range(4):
        record(f"stale-key-{i:06d}", age=timedelta(days=2))
    call_command("purge_idempotency_keys")
    assert "purged 4" in capsys.readouterr().out
    assert IdempotencyRecord.objects.count() == 0
