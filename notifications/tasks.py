"""Celery tasks that deliver the outbox, and the periodic scan that keeps it moving.

Every periodic job of the project is listed in ``CELERY_BEAT_SCHEDULE`` (config/settings.py);
the clock's events (polls opening or closing, proposals expiring) are emitted by their owners.

Why Celery on Redis: Redis is already in the stack (channel layer, cache); Celery is the most
widely run Python task queue, with beat for the periodic scan and an eager mode for the embedded
default. Correctness does not rest on the queue: the outbox rows in PostgreSQL are the truth, a
task only says "look at event N", and the scan re-sends that message for anything unfinished,
so a task lost with a dead worker or a Redis restart only delays delivery.
"""

import logging
from datetime import datetime, timedelta

from celery import current_app, shared_task
from django.utils import timezone

from notifications import delivery, quiet
from notifications.models import Notification, OutboxEvent

logger = logging.getLogger(__name__)

# Events older than this are not resumed by the scan (a week-old "poll opened" helps nobody).
RESUME_WINDOW = timedelta(days=2)


@shared_task(name="notifications.tasks.deliver")
def deliver(event_id: int) -> None:
    """Fan the event out batch by batch; each committed batch starts pushing on another worker
    while this one writes the next, so the first citizens hear within a second, not after the
    whole city is written."""
    while True:
        more = delivery.fan_out_batch(event_id)
        push.delay(event_id)
        if not more:
            return


@shared_task(name="notifications.tasks.push", bind=True, max_retries=None)
def push(self, event_id: int) -> None:
    """Push the event's unpushed inbox rows until none is left (workers share them)."""
    from notifications.push import PushError

    try:
        while delivery.push_batch(event_id):
            pass
    except PushError as exc:
        # The provider's Retry-After when it gave one (within an hour), else half a minute.
        wait = 30.0 if exc.retry_after is None else min(max(exc.retry_after, 1.0), 3600.0)
        raise self.retry(exc=exc, countdown=wait) from exc


@shared_task(name="notifications.tasks.scan")
def scan() -> dict[str, int]:
    """Make sure every unfinished event is on its way (the events the clock causes are emitted by
    their owners' periodic tasks: voting/tasks.py, proposals/tasks.py)."""
    resumed = 0
    for event_id in unfinished_events(timezone.now()):
        deliver.delay(event_id)
        resumed += 1
    return {"resumed": resumed}


@shared_task(name="notifications.tasks.purge_old_inbox")
def purge_old_inbox() -> int:
    """Housekeeping: inbox rows older than ``NOTIFY_INBOX_RETENTION_DAYS`` (their events stay,
    as dedupe keys: notifications/housekeeping.py); how many went."""
    # Imported here: housekeeping reads this module's RESUME_WINDOW.
    from notifications import housekeeping

    return housekeeping.purge_old_inbox(now=timezone.now())


def dispatch(event_id: int) -> None:
    """Start delivering a just-committed event."""
    if current_app.conf.task_always_eager:
        # In process (the embedded default), the next scan delivers it: a large fan-out never
        # runs inside the web request that caused it.
        return
    deliver.delay(event_id)


def unfinished_events(now: datetime) -> list[int]:
    """Recent events not fanned out, or with inbox rows not pushed yet (not in quiet hours:
    those pushes wait for the morning)."""
    recent = OutboxEvent.objects.filter(created_at__gte=now - RESUME_WINDOW)
    not_fanned = recent.filter(fanned_out_at__isnull=True).values_list("pk", flat=True)
    if quiet.is_quiet(now):
        return sorted(not_fanned)
    unpushed = (
        Notification.objects.filter(
            pushed_at__isnull=True, event__created_at__gte=now - RESUME_WINDOW
        )
        .values_list("event_id", flat=True)
        .distinct()
    )
    return sorted(set(not_fanned) | set(unpushed))
