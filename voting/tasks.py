"""Voting's periodic jobs, listed in ``CELERY_BEAT_SCHEDULE`` (config/settings.py). Each is
idempotent (one event per poll and kind), so a late, repeated or doubled tick is harmless."""

from celery import shared_task
from django.utils import timezone

from voting import idempotency, notices


@shared_task(name="voting.tasks.announce_opened_polls")
def announce_opened_polls() -> int:
    """ "A poll for you opened", for the polls whose opening time has passed; how many."""
    return notices.announce_opened_polls(now=timezone.now())


@shared_task(name="voting.tasks.remind_closing_polls")
def remind_closing_polls() -> int:
    """ "Closing soon", to those who have not voted in polls about to close; how many."""
    return notices.remind_closing_polls(now=timezone.now())


@shared_task(name="voting.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Housekeeping: stored answers (ballots' and core/idempotency.py's) past
    ``IDEMPOTENCY_KEY_TTL_HOURS``; how many went."""
    return idempotency.purge_expired(now=timezone.now())
