from datetime import timedelta

import factory
from django.utils import timezone

from proposals.models import Proposal
from tests.factories import CitizenFactory


class ProposalFactory(factory.django.DjangoModelFactory):
    """An open city-wide proposal by a phone-verified citizen, with two options."""

    class Meta:
        model = Proposal
        skip_postgeneration_save = True

    author = factory.SubFactory(CitizenFactory)
    title = factory.Sequence(lambda n: f"제안 {n}: 한강 자전거길 야간 조명")
    description = "야간에도 안전하게 달릴 수 있도록 조명을 늘려 주세요."
    duration_days = 14
    support_deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))

    class Params:
        under_review = factory.Trait(
            status=Proposal.Status.UNDER_REVIEW,
            support_count=50,
            reached_threshold_at=factory.LazyFunction(timezone.now),
        )

    @factory.post_generation
    def options(self, create, extracted, **kwargs):
        if not create:
            return
        labels = extracted if extracted is not None else ["찬성", "반대"]
        for position, label in enumerate(labels):
            self.options.create(label=label, position=position)


def png_bytes(size: tuple[int, int] = (4, 4)) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()
