"""Shared fixtures of the hostile-input and access-control suite (README, "Reliability")."""

import pytest
from django.contrib.auth.models import Group as AuthGroup

from accounts.models import User
from accounts.roles import ensure_official_group
from districts.models import GroupMembership
from tests.factories import OfficialFactory
from voting.models import (
    AuditEntry,
    BoardEntry,
    Envelope,
    IdempotencyRecord,
    Participation,
    Poll,
    TallyCell,
)

JONGNO = "1111000000"  # 종로구
SAJIK = "1111053000"  # 종로구 사직동
GANGNAM = "1168000000"  # 강남구
SINSA = "1168051000"  # 강남구 신사동


def make_official(jurisdiction: str | None = None, **fields):
    """A staff user in the ready "official" group, city-wide or scoped to one gu."""
    ensure_official_group()
    user = OfficialFactory(jurisdiction_id=jurisdiction, **fields)
    user.groups.add(AuthGroup.objects.get(name="official"))
    return user


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
    return make_official()


@pytest.fixture
def jongno_official(db):
    return make_official(JONGNO)


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
