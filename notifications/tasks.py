"""Celery tasks that deliver the outbox, and the periodic scan that keeps it moving.

Why Celery on Redis: Redis is already in the stack (channel layer, cache); Celery is the most
widely run Python task queue, with beat for the periodic scan and an eager mode for the embedded
default. Correctness does not rest on the queue: the outbox rows in PostgreSQL are the truth, a
task only says "look at event N", and the scan re-sends that message for anything unfinished,
so a task lost with a dead worker or a Redis restart only delays delivery.
"""

import logging
from datetime import timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from notifications import delivery, quiet
from notifications.events import emit
from notifications.models import Kind, Notification, OutboxEvent
from voting.models import Poll

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
        raise self.retry(exc=exc, countdown=30) from exc


@shared_task(name="notifications.tasks.scan")
def scan() -> dict[str, int]:
    """Emit the events the clock causes, then make sure every unfinished event is on its way."""
    from proposals.services import expire_due_proposals

    now = timezone.now()
    opened = announce_opened_polls(now)
    reminded = remind_closing_polls(now)
    expired = expire_due_proposals(now=now)
    resumed = 0
    for event_id in unfinished_events(now):
        deliver.delay(event_id)
        resumed += 1
    return {"opened": opened, "reminded": reminded, "expired": expired, "resumed": resumed}


def dispatch(event_id: int) -> None:
    """Start delivering a just-committed event."""
    if current_app.conf.task_always_eager:
        # In process (the embedded default), the next scan delivers it: a large fan-out never
        # runs inside the web request that caused it.
        return
    deliver.delay(event_id)


def announce_opened_polls(now) -> int:
    """ "A poll for you opened" for the polls whose opening time passed (those published already
    open were announced by ``publish_poll``)."""
    due = (
        Poll.objects.open_at(now)
        .filter(opens_at__gte=now - RESUME_WINDOW)
        .exclude(
            Exists(OutboxEvent.objects.filter(kind=Kind.POLL_OPENED, subject_id=OuterRef("pk")))
        )
        .only("pk", "title")
    )
    return sum(1 for poll in due if announce_poll_opened(poll))


def announce_poll_opened(poll: Poll) -> OutboxEvent | None:
    return emit(
        Kind.POLL_OPENED,
        subject_id=poll.pk,
        dedupe_key=f"poll_opened:{poll.pk}",
        payload={"title": poll.title},
    )


def remind_closing_polls(now) -> int:
    """ "Closing soon" to those who have not voted, ``NOTIFY_CLOSING_REMINDER_HOURS`` before the
    end of polls that run longer than that (a shorter poll was announced moments ago)."""
    lead = timedelta(hours=settings.NOTIFY_CLOSING_REMINDER_HOURS)
    if lead <= timedelta(0):
        return 0
    due = (
        Poll.objects.open_at(now)
        .filter(closes_at__lte=now + lead, closes_at__gt=F("opens_at") + lead)
        .exclude(
            Exists(OutboxEvent.objects.filter(kind=Kind.POLL_CLOSING, subject_id=OuterRef("pk")))
        )
        .only("pk", "title")
    )
    count = 0
    for poll in due:
        event = emit(
            Kind.POLL_CLOSING,
            subject_id=poll.pk,
            dedupe_key=f"poll_closing:{poll.pk}",
            payload={"title": poll.title},
        )
        count += event is not None
    return count


def unfinished_events(now) -> list[int]:
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
