"""Recording that something happened which citizens should hear about.

Call ``emit`` inside the transaction that makes the change: the event commits with the change or not
at all, so no notification is lost because a process died between the two, and none is sent for
a change that rolled back. Delivery happens later, on a worker (``notifications/tasks.py``).
"""

from typing import Any

from django.db import transaction

from notifications.models import Kind, OutboxEvent


def emit(
    kind: Kind | str, *, subject_id: int, dedupe_key: str, payload: dict[str, Any] | None = None
) -> OutboxEvent | None:
    """Write the event to the outbox once; a second ``emit`` with the same key does nothing.

    Returns the event, or ``None`` when it had already been emitted.
    """
    with transaction.atomic():
        event, created = OutboxEvent.objects.get_or_create(
            dedupe_key=dedupe_key,
            defaults={"kind": kind, "subject_id": subject_id, "payload": payload or {}},
        )
    if not created:
        return None
    # robust: if the queue is unreachable at commit, the event still committed and the scan
    # (notifications.tasks.scan) sends it; the request that caused it must not fail.
    # A named function, not a partial: Django's robust path logs the callback's __qualname__.
    event_id = event.pk

    def dispatch_after_commit() -> None:
        _dispatch(event_id)

    transaction.on_commit(dispatch_after_commit, robust=True)
    return event


def _dispatch(event_id: int) -> None:
    from notifications import tasks

    tasks.dispatch(event_id)
