"""Shared fixtures of the hostile-input and access-control suite (README, "Reliability")."""

import pytest
from django.contrib.auth.models import Group as AuthGroup

from accounts.models import User
from accounts.roles import ensure_official_group
from districts.models import GroupMembership
from tests.factories import OfficialFactory
from voting.models import AuditEntry, Ballot, BallotChoice, IdempotencyRecord, Participation, Poll

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


@pytest.fixture
def city_official(db):
    return make_official()


@pytest.fixture
def jongno_official(db):
    return make_official(JONGNO)


def world_state() -> tuple:
    """Everything a refused request could have written."""
    polls = tuple(
        Poll.objects.order_by("pk").values_list(
            "pk", "title", "published", "closes_at", "results_published_at"
        )
    )
    return (
        Participation.objects.count(),
        Ballot.objects.count(),
        BallotChoice.objects.count(),
        IdempotencyRecord.objects.count(),
        AuditEntry.objects.count(),
        polls,
        tuple(User.objects.order_by("pk").values_list("pk", "is_staff", "verification")),
        GroupMembership.objects.count(),
    )
