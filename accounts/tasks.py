"""Celery tasks of the accounts app: housekeeping from the beat schedule, and delivering texts
through a real SMS provider."""

from celery import shared_task
from django.utils import timezone

from accounts import housekeeping, sms_queue


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> dict[str, int]:
    """Housekeeping: expired sessions (and with them expired sign-in flows), then the session
    list's rows they leave (accounts/housekeeping.py); how many of each went."""
    return {
        "sessions": housekeeping.clear_expired_sessions(now=timezone.now()),
        "user_sessions": housekeeping.purge_orphaned_user_sessions(),
    }


@shared_task(name="accounts.tasks.deliver_sms", bind=True, max_retries=None)
def deliver_sms(self, delivery_id: int, sealed: str) -> str:
    """Send one queued text (accounts/sms_queue.py: the retry policy and its bound live there,
    with the row that records each attempt)."""
    outcome = sms_queue.attempt(
        delivery_id=delivery_id, sealed=sealed, retries=self.request.retries
    )
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    if outcome.status == "accepted" and outcome.just_finished:
        check_sms_report.apply_async(args=(delivery_id,), countdown=sms_queue.REPORT_CHECKS[0])
    return outcome.status


@shared_task(name="accounts.tasks.check_sms_report", bind=True, max_retries=None)
def check_sms_report(self, delivery_id: int) -> str:
    """Record whether an accepted text reached the phone, asking the provider a few times."""
    outcome = sms_queue.check_report(delivery_id=delivery_id, checks=self.request.retries)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
