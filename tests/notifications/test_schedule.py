"""One beat schedule (CELERY_BEAT_SCHEDULE) lists every periodic job by task name; each name is a
task some app's tasks.py registers, and each job does its owner's work when run by that name."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config import tasks_in_process
from config.celery import app
from notifications.models import OutboxEvent
from proposals.models import Proposal
from tests.factories import PollFactory
from tests.proposals.factories import ProposalFactory

CLOCK_JOBS = {
    "voting.tasks.announce_opened_polls",
    "voting.tasks.remind_closing_polls",
    "proposals.tasks.expire_due_proposals",
    "notifications.tasks.scan",
    # Housekeeping (tests/*/test_housekeeping.py run each by its scheduled name).
    "voting.tasks.purge_idempotency_keys",
    "accounts.tasks.clear_expired_sessions",
    "notifications.tasks.purge_old_inbox",
}


def test_the_schedule_names_only_registered_tasks():
    app.autodiscover_tasks(force=True)  # what a worker (and the in-process runner) does
    names = tasks_in_process.scheduled_tasks()
    assert names == CLOCK_JOBS
    assert names <= set(app.tasks)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["schedule"] > 0


@pytest.mark.django_db
def test_each_clock_job_runs_by_its_scheduled_name(settings):
    app.autodiscover_tasks(force=True)
    settings.NOTIFY_CLOSING_REMINDER_HOURS = 24
    now = timezone.now()
    opened = PollFactory(opens_at=now - timedelta(minutes=1))  # its opening time just passed
    # Opened days ago (too long ago to announce now), closes within the reminder's lead time.
    closing = PollFactory(opens_at=now - timedelta(days=3), closes_at=now + timedelta(hours=5))
    due = ProposalFactory(support_deadline=now - timedelta(minutes=1))

    def run(name: str):
        return app.tasks[name].apply().get()

    assert run("voting.tasks.announce_opened_polls") == 1
    assert run("voting.tasks.remind_closing_polls") == 1
    assert run("proposals.tasks.expire_due_proposals") == 1
    assert run("notifications.tasks.scan") == {"resumed": 3}  # in process: the scan delivers
    assert run("notifications.tasks.scan") == {"resumed": 0}

    assert set(OutboxEvent.objects.values_list("dedupe_key", flat=True)) == {
        f"poll_opened:{opened.pk}",
        f"poll_closing:{closing.pk}",
        f"proposal:{due.pk}:expired",
    }
    due.refresh_from_db()
    assert due.status == Proposal.Status.EXPIRED
