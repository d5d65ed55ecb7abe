"""Who hears news of a proposal: its author and its supporters. The outbox (notifications/) asks
through the resolver :func:`register_recipients` hands it in ``ProposalsConfig.ready()``; the news
itself is emitted by ``services.emit_status``."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from notifications import recipients
from notifications.models import Kind, OutboxEvent
from proposals.models import Proposal, Support


def proposal_recipients(event: OutboxEvent) -> QuerySet[User]:
    author = Proposal.objects.filter(pk=event.subject_id).values("author_id")
    supporters = Support.objects.filter(proposal_id=event.subject_id, user_id=OuterRef("pk"))
    return User.objects.filter(Q(pk__in=author) | Q(Exists(supporters)))


def register_recipients() -> None:
    recipients.register(Kind.PROPOSAL, proposal_recipients)
