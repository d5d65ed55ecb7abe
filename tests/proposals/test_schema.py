"""The proposals endpoints fuzzed from the OpenAPI schema with real ids, as tests/security/
test_schema_fuzz.py does for the whole API with random ones: open, under review, hidden,
expired proposals and the caller's own, so the business paths run, not only the 404s."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from proposals.models import Proposal
from tests.conftest import make_session_token
from tests.district_codes import JONGNO, SAJIK
from tests.factories import CitizenFactory
from tests.proposals.factories import ProposalFactory
from tests.security.test_schema_fuzz import (
    CHECKS,
    SCHEMA,
    plain_wsgi_connections,  # noqa: F401  (a fixture)
    rolled_back,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 20)
OPERATIONS = {
    result.ok().label: result.ok()
    for result in SCHEMA.get_all_operations()
    if result.ok()
    and "/api/v1/proposals/" in result.ok().label
    and "comments" not in result.ok().label  # the discussion app's, fuzzed by its own tests
}


def test_the_proposals_api_is_in_the_schema():
    assert set(OPERATIONS) == {
        "GET /api/v1/proposals/",
        "POST /api/v1/proposals/",
        "GET /api/v1/proposals/{proposal_id}/",
        "POST /api/v1/proposals/{proposal_id}/images/",
        "POST /api/v1/proposals/{proposal_id}/support/",
        "DELETE /api/v1/proposals/{proposal_id}/support/",
    }


@pytest.fixture
def caller(db):
    return CitizenFactory(district_id=SAJIK)


@pytest.fixture
def proposal_ids(caller) -> list[int]:
    now = timezone.now()
    proposals = [
        ProposalFactory(),
        ProposalFactory(district_id=JONGNO, support_count=3),
        ProposalFactory(author=caller),
        ProposalFactory(author=caller, hidden_at=now, hidden_reason="사유"),
        ProposalFactory(hidden_at=now, hidden_reason="사유"),
        ProposalFactory(under_review=True),
        ProposalFactory(status=Proposal.Status.REJECTED, rejection_reason="사유"),
        ProposalFactory(support_deadline=now - timedelta(minutes=1)),
    ]
    return [p.pk for p in proposals]


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_answers_as_documented(label, caller, proposal_ids, plain_wsgi_connections):  # noqa: F811
    operation = OPERATIONS[label]
    headers = {"X-Session-Token": make_session_token(caller)}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if operation.path_parameters:
        strategies += [
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"proposal_id": pk})
            for pk in proposal_ids
        ]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case):
        with rolled_back():
            case.call_and_validate(headers=headers, checks=CHECKS)

    run()
