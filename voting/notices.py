"""What voting tells citizens through the notification outbox, and who each notice is for.

Voting owns the meaning of its notices: which polls are announced, when the clock reminds, and
who may hear of them. The outbox (notifications/) only delivers: it learns the recipients of
voting's kinds from the resolvers :func:`register_recipients` hands it in ``VotingConfig.ready()``.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import User
from notifications import recipients
from notifications.events import emit
from notifications.models import Kind, OutboxEvent
from voting.eligibility import audience_of
from voting.models import Participation, Poll

# A poll that opened longer ago than this is not announced any more (a server down for days
# comes back to stale openings): as long as the outbox resumes unfinished events.
ANNOUNCE_WINDOW = timedelta(days=2)


# --- Announcing (each once per poll: the dedupe key is the poll's) ------------------------------


def announce_poll_opened(poll: Poll) -> OutboxEvent | None:
    """ "A poll for you opened": from ``publish_poll`` for a poll published already open, from
    the clock for one that opens later. ``None`` when it was announced already."""
    return emit(
        Kind.POLL_OPENED,
        subject_id=poll.pk,
        dedupe_key=f"poll_opened:{poll.pk}",
        payload={"title": poll.title},
    )


def announce_poll_closing(poll: Poll) -> OutboxEvent | None:
    return emit(
        Kind.POLL_CLOSING,
        subject_id=poll.pk,
        dedupe_key=f"poll_closing:{poll.pk}",
        payload={"title": poll.title},
    )


def announce_outcome(poll: Poll) -> OutboxEvent | None:
    """ "What the city decided": once per poll, however often the outcome is edited."""
    return emit(
        Kind.OUTCOME,
        subject_id=poll.pk,
        dedupe_key=f"outcome:{poll.pk}",
        payload={"title": poll.title},
    )


def announce_opened_polls(*, now: datetime) -> int:
    """Announce the polls whose opening time passed (those published already open were
    announced by ``publish_poll``); how many."""
    due = (
        Poll.objects.open_at(now)
        .filter(opens_at__gte=now - ANNOUNCE_WINDOW)
        .exclude(
            Exists(OutboxEvent.objects.filter(kind=Kind.POLL_OPENED, subject_id=OuterRef("pk")))
        )
        .only("pk", "title")
    )
    return sum(1 for poll in due if announce_poll_opened(poll))


def remind_closing_polls(*, now: datetime) -> int:
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
    return sum(1 for poll in due if announce_poll_closing(poll))


# --- Who hears (the outbox asks while fanning out) -----------------------------------------------


def _voted(poll: Poll) -> Exists:
    return Exists(Participation.objects.filter(poll_id=poll.pk, voter_id=OuterRef("pk")))


def _published(event: OutboxEvent) -> Poll | None:
    return Poll.objects.filter(pk=event.subject_id, published=True).first()


def _may_vote_now(event: OutboxEvent) -> tuple[Poll, QuerySet[User]] | None:
    # A poll closed (or withdrawn) before its fan-out finished: telling the rest would send them
    # to a poll they can no longer vote in.
    poll = _published(event)
    if poll is None or poll.status_at(timezone.now()) != Poll.Status.OPEN:
        return None
    # Those who may vote: the audience, verified enough.
    return poll, audience_of(poll).filter(verification__gte=poll.min_verification)


def poll_opened_recipients(event: OutboxEvent) -> QuerySet[User] | None:
    found = _may_vote_now(event)
    return None if found is None else found[1]


def poll_closing_recipients(event: OutboxEvent) -> QuerySet[User] | None:
    found = _may_vote_now(event)
    if found is None:
        return None
    poll, can_vote = found
    return can_vote.exclude(_voted(poll))


def outcome_recipients(event: OutboxEvent) -> QuerySet[User] | None:
    poll = _published(event)
    return None if poll is None else User.objects.filter(_voted(poll))


def register_recipients() -> None:
    recipients.register(Kind.POLL_OPENED, poll_opened_recipients)
    recipients.register(Kind.POLL_CLOSING, poll_closing_recipients)
    recipients.register(Kind.OUTCOME, outcome_recipients)
