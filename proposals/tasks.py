"""Proposals' periodic job, listed in ``CELERY_BEAT_SCHEDULE`` (config/settings.py)."""

from celery import shared_task
from django.utils import timezone

from proposals import services


@shared_task(name="proposals.tasks.expire_due_proposals")
def expire_due_proposals() -> int:
    """Open proposals past their support deadline become expired (their author and supporters
    are told through the outbox); how many."""
    return services.expire_due_proposals(now=timezone.now())
