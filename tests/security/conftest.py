"""Shared fixtures of the hostile-input and access-control suite (docs/reliability.md)."""

import pytest

from accounts.models import User
from audit.models import AuditEntry
from districts.models import GroupMembership
from tests.district_codes import JONGNO, SAJIK
from tests.factories import OfficialFactory
from voting.models import (
    BoardEntry,
    Envelope,
    IdempotencyRecord,
    Participation,
    Poll,
    TallyCell,
)


class FakeIdentityProvider:
    """Confirms evidence ``{"ok": true}``: with a provider configured, ``/me/identity/`` runs its
    real path instead of the 503 it answers without one (tested in tests/accounts/test_me.py).

    It lives here, not in a test module: ``IDENTITY_VERIFIER`` imports it by name during a test,
    and importing test_schema_fuzz.py serves a request (to build its schema) that closes the
    test's database connection."""

    def verify(self, *, user, evidence):
        from accounts.identity import IdentityResult

        if evidence.get("ok") is True:
            return IdentityResult(verified=True, district_code=SAJIK, birth_year=1985)
        return IdentityResult(verified=False, reason="refused_by_provider")


@pytest.fixture
def city_official(db):
    return OfficialFactory(role="official")


@pytest.fixture
def jongno_official(db):
    return OfficialFactory(role="official", gu=JONGNO)


def world_state() -> tuple:
    """Everything a refused request could have written: who took part, sealed envelopes, the
    board and the counters (the counter is not run here, so these stay as they were unless a
    ballot was cast), idempotency records, the audit log, polls, users and memberships."""
    polls = tuple(
        Poll.objects.order_by("pk").values_list(
            "pk", "title", "published", "closes_at", "results_published_at"
        )
    )
    return (
        Participation.objects.count(),
        Envelope.objects.count(),
        BoardEntry.objects.count(),
        TallyCell.objects.count(),
        IdempotencyRecord.objects.count(),
        AuditEntry.objects.count(),
        polls,
        tuple(User.objects.order_by("pk").values_list("pk", "is_staff", "verification")),
        GroupMembership.objects.count(),
    )
