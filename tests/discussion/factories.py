import factory
from django.utils import timezone

from tests.factories import CitizenFactory, PollFactory
from tests.proposals.factories import ProposalFactory

__all__ = ["CommentFactory", "ProposalFactory", "ReplyFactory"]


class CommentFactory(factory.django.DjangoModelFactory):
    """A top-level comment on a (new, open, city-wide) poll by a new citizen."""

    class Meta:
        model = "discussion.Comment"

    poll = factory.SubFactory(PollFactory)
    author = factory.SubFactory(CitizenFactory)
    body = factory.Sequence(lambda n: f"의견 {n}: 좋은 정책입니다.")
    created_at = factory.LazyFunction(timezone.now)


class ReplyFactory(CommentFactory):
    parent = factory.SubFactory(CommentFactory)
    poll = factory.LazyAttribute(lambda o: o.parent.poll)
