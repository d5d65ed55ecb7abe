"""Housekeeping of the inbox: rows older than ``NOTIFY_INBOX_RETENTION_DAYS`` go; events stay.

**Inbox rows** (``Notification``: one per citizen per event) are most of what the outbox stores,
and they say things about people: an ``outcome`` row tells who voted in that poll. Past the
retention a citizen's inbox loses them, oldest first.

**Outbox events are kept.** The event row *is* the dedupe key (``OutboxEvent.dedupe_key``,
unique): ``emit`` writes an event only if no row has that key. Deleting an old event would let
its key fire again — ``outcome:<poll>`` is emitted on every edit of a poll's outcome, a
proposal's ``proposal:<id>:<status>`` on each decision, and the clock's ``poll_opened`` and
``poll_closing`` look for existing rows — and everyone would hear it twice. Keeping the key
alone would mean keeping the row: an event holds no personal data (kind, subject id, the
poll's or proposal's title, counts) and there are a few per poll or proposal, so the rows stay
whole and the admin's list of events stays complete.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.batches import delete_in_batches
from notifications.models import Notification, OutboxEvent
from notifications.tasks import RESUME_WINDOW

# At most this many rows per DELETE, and this many batches per run (the next run goes on).
BATCH_SIZE = 5000
MAX_BATCHES = 200


def inbox_cutoff(*, now: datetime) -> datetime:
    """Inbox rows created before this go. Never later than the scan's resume window: a row the
    scan may still push is not removed, whatever the setting says."""
    retention = timedelta(days=settings.NOTIFY_INBOX_RETENTION_DAYS)
    return now - max(retention, RESUME_WINDOW)


def purge_old_inbox(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = MAX_BATCHES,
) -> int:
    """Delete inbox rows older than the retention; how many. Their events stay (see above).

    Found event by event, through the (event, user) index: an inbox row is written after its
    event, so only events older than the cutoff can have rows older than it, and the events
    table is small (a few rows per poll) where the inbox table has one row per citizen per event.
    """
    cutoff = inbox_cutoff(now=timezone.now() if now is None else now)
    old = Notification.objects.filter(event_id=OuterRef("pk"), created_at__lt=cutoff)
    events = (
        OutboxEvent.objects.filter(created_at__lt=cutoff)
        .filter(Exists(old))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    deleted = 0
    budget = max_batches  # the run's batches, shared by all the events
    for event_id in list(events):
        rows = Notification.objects.filter(event_id=event_id, created_at__lt=cutoff)
        while budget is None or budget > 0:
            went = delete_in_batches(rows, batch_size=batch_size, max_batches=1)
            deleted += went
            if budget is not None:
                budget -= 1
            if went < batch_size:
                break
        else:
            break  # out of batches: the next run goes on from here
    return deleted
