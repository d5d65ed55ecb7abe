"""Delivering an outbox event: fan it out into inboxes, then push each inbox row once.

Both steps work in batches, each batch one transaction that also records the progress:

* fan-out locks the event row, writes the inbox rows of the next ``NOTIFY_FANOUT_BATCH``
  recipients (ordered by id, after ``event.cursor``) and moves the cursor, then commits;
* push locks up to ``NOTIFY_PUSH_BATCH`` unpushed rows (``SKIP LOCKED``: workers share an
  event without waiting on each other), hands them to the push backend and marks them pushed,
  then commits.

A worker killed anywhere loses nothing: its transaction rolls back, its locks go with its
connection, and the next worker starts from the recorded progress. Inbox rows are unique per
(event, citizen), so nothing is written twice. A push batch whose provider call succeeded but
whose commit did not (the only window) is sent again with the same keys, which the provider
uses to collapse it (``notifications/push.py``).
"""

from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications import messages, push, quiet, recipients
from notifications.models import Device, Kind, Notification, OutboxEvent


def fan_out_batch(event_id: int) -> bool:
    """Write the next batch of inbox rows for ``event_id``; ``True`` while more remain."""
    size = settings.NOTIFY_FANOUT_BATCH
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, fanned_out_at__isnull=True)
            .first()
        )
        if event is None:  # done, or another worker holds this batch
            return False
        users = recipients.recipients(event)
        ids: list[int] = []
        if users is not None:
            ids = list(
                users.filter(pk__gt=event.cursor).order_by("pk").values_list("pk", flat=True)[:size]
            )
        now = timezone.now()
        Notification.objects.bulk_create(
            [Notification(user_id=uid, event_id=event.pk, created_at=now) for uid in ids],
            ignore_conflicts=True,
        )
        fields = ["cursor", "recipients"]
        if ids:
            event.cursor = ids[-1]
            event.recipients += len(ids)
        finished = len(ids) < size
        if finished:
            event.fanned_out_at = now
            fields.append("fanned_out_at")
        event.save(update_fields=fields)
    return not finished


def push_batch(event_id: int) -> int:
    """Push the next batch of ``event_id``'s unpushed inbox rows; how many (0: none left, or
    quiet hours: the rows wait for the morning scan)."""
    if quiet.is_quiet():
        return 0
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(event_id=event_id, pushed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "user_id")[: settings.NOTIFY_PUSH_BATCH]
        )
        if not rows:
            return 0
        event = OutboxEvent.objects.only("kind", "subject_id", "payload").get(pk=event_id)
        tokens: dict[int, list[str]] = defaultdict(list)
        for user_id, token in Device.objects.filter(
            user_id__in=[user_id for _, user_id in rows]
        ).values_list("user_id", "token"):
            tokens[user_id].append(token)
        title, body = messages.render(event.kind, event.payload, settings.LANGUAGE_CODE)
        data = _data(event)
        batch = [
            push.PushMessage(
                key=f"n{pk}",
                user_id=user_id,
                title=title,
                body=body,
                data={**data, "notification_id": str(pk)},
                tokens=tuple(tokens[user_id]),
            )
            for pk, user_id in rows
        ]
        with push.get_backend() as backend:
            backend.send_messages(batch)  # PushError: roll back, the batch is retried
        Notification.objects.filter(pk__in=[pk for pk, _ in rows]).update(pushed_at=timezone.now())
        if backend.dead_tokens:
            Device.objects.filter(token__in=backend.dead_tokens).delete()
    return len(rows)


def deliver(event_id: int) -> None:
    """Fan out and push ``event_id`` to the end, in this process (tests, management shells);
    workers run the same steps as tasks (``notifications.tasks.deliver``)."""
    while fan_out_batch(event_id):
        pass
    while push_batch(event_id):
        pass


def _data(event: OutboxEvent) -> dict[str, str]:
    key = "proposal_id" if event.kind == Kind.PROPOSAL else "poll_id"
    return {"kind": event.kind, key: str(event.subject_id)}
