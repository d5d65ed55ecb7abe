"""Support under real concurrency, on PostgreSQL: threads posting at the same moment."""

from collections import Counter

import pytest
from rest_framework.test import APIClient

from notifications.models import OutboxEvent
from proposals.models import Proposal, Support
from tests.concurrency import run_at_once
from tests.conftest import make_session_token
from tests.factories import CitizenFactory
from tests.proposals.factories import ProposalFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post_support(token: str, proposal_id: int) -> int:
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    return client.post(f"/api/v1/proposals/{proposal_id}/support/").status_code


def test_many_citizens_at_once_stop_exactly_at_the_threshold(settings):
    settings.PROPOSAL_SUPPORT_THRESHOLD = 25
    proposal = ProposalFactory()
    tokens = [make_session_token(CitizenFactory()) for _ in range(40)]

    statuses = run_at_once([(lambda t=token: post_support(t, proposal.pk)) for token in tokens])

    assert Counter(statuses) == {201: 25, 409: 15}
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.UNDER_REVIEW
    assert proposal.support_count == 25 == Support.objects.filter(proposal=proposal).count()
    assert (
        OutboxEvent.objects.filter(dedupe_key=f"proposal:{proposal.pk}:under_review").count() == 1
    )


def test_many_citizens_below_the_threshold_are_all_counted(settings):
    settings.PROPOSAL_SUPPORT_THRESHOLD = 1000
    proposal = ProposalFactory()
    tokens = [make_session_token(CitizenFactory()) for _ in range(50)]

    statuses = run_at_once([(lambda t=token: post_support(t, proposal.pk)) for token in tokens])

    assert Counter(statuses) == {201: 50}
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.OPEN
    assert proposal.support_count == 50 == Support.objects.filter(proposal=proposal).count()


def test_one_citizen_supporting_many_times_at_once_counts_once():
    proposal = ProposalFactory()
    token = make_session_token(CitizenFactory())

    statuses = run_at_once([lambda: post_support(token, proposal.pk)] * 20)

    assert Counter(statuses) == {201: 1, 409: 19}
    proposal.refresh_from_db()
    assert proposal.support_count == 1 == Support.objects.filter(proposal=proposal).count()
