"""Who hears about an event: each kind's recipients as one query, minus those who opted out."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from notifications.models import Kind, OptOut, OutboxEvent
from voting.eligibility import audience_of
from voting.models import Participation, Poll


def recipients(event: OutboxEvent) -> QuerySet[User] | None:
    """The citizens ``event`` is for, or ``None`` when it no longer applies (a poll announced as
    open that closed before its fan-out finished: telling the rest would send them to a closed
    poll)."""
    users = _of_kind(event)
    if users is None:
        return None
    return users.filter(is_active=True).exclude(
        Exists(OptOut.objects.filter(user_id=OuterRef("pk"), kind=event.kind))
    )


def _of_kind(event: OutboxEvent) -> QuerySet[User] | None:
    if event.kind == Kind.PROPOSAL:
        from proposals.models import Proposal, Support

        author = Proposal.objects.filter(pk=event.subject_id).values("author_id")
        supporters = Support.objects.filter(proposal_id=event.subject_id, user_id=OuterRef("pk"))
        return User.objects.filter(Q(pk__in=author) | Q(Exists(supporters)))

    poll = Poll.objects.filter(pk=event.subject_id, published=True).first()
    if poll is None:
        return None
    voted = Exists(Participation.objects.filter(poll_id=poll.pk, voter_id=OuterRef("pk")))
    if event.kind == Kind.OUTCOME:
        return User.objects.filter(voted)
    if poll.status_at(timezone.now()) != Poll.Status.OPEN:
        return None
    # Those who may vote: the audience, verified enough.
    can_vote = audience_of(poll).filter(verification__gte=poll.min_verification)
    if event.kind == Kind.POLL_CLOSING:
        return can_vote.exclude(voted)
    return can_vote
