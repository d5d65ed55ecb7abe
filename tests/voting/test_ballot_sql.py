"""The ballot statement's verdicts come from SQL compiled once per shape and reused: they must
be exactly what a fresh compile of the eligibility rules gives, for every kind of citizen."""

import itertools

import pytest
from django.db import connection

from accounts.models import Verification
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SEOUL
from tests.factories import CitizenFactory, GroupFactory, PollFactory
from voting import ballot_sql
from voting.eligibility import Voter

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_cached_verdicts_equal_a_fresh_compile():
    group = GroupFactory()
    polls = [
        PollFactory(),
        PollFactory(districts=[JONGNO]),
        PollFactory(districts=[SAJIK]),
        PollFactory(districts=[GANGNAM, SEOUL]),
        PollFactory(groups=[group]),
        PollFactory(min_age=20, max_age=39),
        PollFactory(min_verification=Verification.RESIDENT),
        PollFactory(kind="multiple", min_choices=2, max_choices=3, options=["A", "B", "C"]),
    ]
    citizens = [
        CitizenFactory(),
        CitizenFactory(district_id=SAJIK, birth_year=1995),
        CitizenFactory(district_id=JONGNO, birth_year=1950),
        CitizenFactory(district_id=GANGNAM, verification=Verification.RESIDENT, birth_year=2000),
    ]
    group.members.add(citizens[1])
    ballot_sql._TEMPLATES.clear()
    checked = 0
    for poll, citizen in itertools.product(polls, citizens):
        voter = Voter.of(citizen)
        cached = _rows(*ballot_sql.verdicts_sql(poll_id=poll.pk, voter=voter))
        fresh = _rows(*ballot_sql._verdicts_queryset(poll.pk, voter).query.sql_with_params())
        assert cached == fresh, (poll, citizen)
        checked += 1
    assert checked == 32
    assert len(ballot_sql._TEMPLATES) < checked  # shapes were reused
