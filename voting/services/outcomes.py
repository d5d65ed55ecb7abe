"""What was decided because of a closed poll: recorded (or corrected) by an official, audited,
and announced once to everyone who voted."""

import datetime
from typing import Any

from django.core.files import File
from django.db import transaction

from accounts.models import User
from audit import services as audit
from audit.models import AuditEntry
from voting import notices
from voting.models import Outcome, Poll
from voting.services.errors import PollNotClosed
from voting.services.snapshots import record_poll


@transaction.atomic
def record_outcome(
    *,
    poll: Poll,
    by: User | None,
    summary: str,
    decided_on: datetime.date,
    link: str = "",
    attachment: File[Any] | None = None,
) -> Outcome:
    """Record (or correct) what was decided because of a closed poll.

    The first record tells everyone who voted; a correction is audited but not announced again.
    """
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if not poll.published or poll.status != Poll.Status.CLOSED:
        raise PollNotClosed()
    outcome = Outcome.objects.filter(poll=poll).first()
    before = (
        {"summary": outcome.summary, "link": outcome.link, "decided_on": outcome.decided_on}
        if outcome
        else {}
    )
    if outcome is None:
        outcome = Outcome(poll=poll, recorded_by=by)
    outcome.summary = summary
    outcome.link = link
    outcome.decided_on = decided_on
    if attachment is not None:
        outcome.attachment = attachment
    outcome.full_clean(exclude=["poll"])
    outcome.save()
    after = {"summary": outcome.summary, "link": outcome.link, "decided_on": outcome.decided_on}
    record_poll(
        actor=by, poll=poll, action=AuditEntry.Action.OUTCOME, changes=audit.diff(before, after)
    )
    notices.announce_outcome(poll)
    return outcome
