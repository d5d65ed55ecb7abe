"""The poll list and the poll detail run SQL compiled once per shape of request and reused with
each citizen's values (core/sql_templates.py). A reused statement must answer exactly what a
fresh compile for that citizen answers: a citizen must never see another's audience, vote or
verdicts because both asked in the same shape."""

import contextlib
import itertools

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Verification
from core.sql_templates import Templates
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SEOUL
from tests.factories import CategoryFactory, CitizenFactory, GroupFactory, PollFactory
from voting import casting, poll_detail, poll_list, selectors
from voting.eligibility import Voter
from voting.models import Participation

pytestmark = pytest.mark.django_db


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def world():
    group = GroupFactory()
    transport = CategoryFactory(slug="transport")
    polls = [
        PollFactory(category=transport),
        PollFactory(districts=[JONGNO]),
        PollFactory(districts=[SAJIK], category=transport),
        PollFactory(districts=[GANGNAM, SEOUL]),
        PollFactory(groups=[group]),
        PollFactory(min_age=20, max_age=39),
        PollFactory(min_verification=Verification.RESIDENT),
    ]
    # Two citizens of each shape (residence depth, birth year known), who differ in everything
    # else: group, age, verification, and which polls they voted in.
    citizens = [
        CitizenFactory(),
        CitizenFactory(verification=Verification.RESIDENT),
        CitizenFactory(district_id=SAJIK, birth_year=1995),
        CitizenFactory(district_id=SAJIK, birth_year=1950),
        CitizenFactory(district_id=GANGNAM, verification=Verification.RESIDENT, birth_year=2000),
        CitizenFactory(district_id=GANGNAM, birth_year=1960),
    ]
    group.members.add(citizens[2])
    for i, (poll, citizen) in enumerate(itertools.product(polls[:3], citizens)):
        if i % 2:
            with contextlib.suppress(casting.NotEligible):  # outside its audience
                casting.cast_ballot(poll=poll, voter=citizen, option_ids=[poll.options.first().pk])
    return polls, citizens


@pytest.mark.parametrize("status", selectors.Status.CHOICES)
@pytest.mark.parametrize("scope", ["mine", "all"])
@pytest.mark.parametrize("category", [None, "transport"])
def test_the_list_statement_equals_a_fresh_compile(world, monkeypatch, status, scope, category):
    _polls, citizens = world
    monkeypatch.setattr(poll_list, "_TEMPLATES", Templates("test list"))
    now = timezone.now()
    for citizen in citizens:
        voter = Voter.of(citizen)
        cached = [
            (r.poll_id, r.in_audience, r.has_voted, r.participants, r.matching)
            for r in poll_list._rows(
                voter=voter, status=status, scope=scope, category=category, limit=100, offset=0
            )
        ]
        fresh = selectors.poll_list(
            voter=voter, now=now, status=status, scope=scope, category=category
        ).values_list("pk", "in_audience", "has_voted", "participants")
        expected = [(pk, bool(a), bool(v), p, len(fresh)) for pk, a, v, p in fresh]
        assert cached == expected, citizen
    assert len(poll_list._TEMPLATES) < len(citizens)  # shapes were reused


def test_the_detail_statement_equals_a_fresh_compile(world, monkeypatch):
    polls, citizens = world
    monkeypatch.setattr(poll_detail, "_TEMPLATES", Templates("test detail"))
    checked = 0
    for poll, citizen in itertools.product(polls, citizens):
        voter = Voter.of(citizen)
        cached = poll_detail._row(voter=voter, poll_id=poll.pk)
        fresh = selectors.poll_detail(voter=voter, poll_id=poll.pk).values(*poll_detail._COLUMNS)
        assert cached == dict(fresh.get()), (poll, citizen)
        checked += 1
    assert len(poll_detail._TEMPLATES) < checked


def test_the_compiled_statements_read_the_phone_key(monkeypatch):
    """``has_voted`` matches the phone's key too (a vote of an earlier account of the number):
    the key is a placeholder of the compiled list and detail, not compiled in, nor compiled away."""
    monkeypatch.setattr(poll_list, "_TEMPLATES", Templates("test list"))
    monkeypatch.setattr(poll_detail, "_TEMPLATES", Templates("test detail"))
    poll = PollFactory()
    earlier = CitizenFactory()
    phone = earlier.phone
    casting.cast_ballot(poll=poll, voter=earlier, option_ids=[poll.options.first().pk])
    # The earlier account is gone (its participations keep the key), the number signed up again.
    Participation.objects.filter(voter=earlier).update(voter=None)
    earlier.delete()
    again, stranger = CitizenFactory(phone=phone), CitizenFactory()
    for citizen, expected in ((again, True), (stranger, False)):
        voter = Voter.of(citizen)
        (row,) = poll_list._rows(
            voter=voter, status="open", scope="mine", category=None, limit=10, offset=0
        )
        assert row.has_voted is expected
        detail = poll_detail._row(voter=voter, poll_id=poll.pk)
        assert detail is not None
        assert detail["has_voted"] is expected
        fresh = selectors.poll_detail(voter=voter, poll_id=poll.pk).values(*poll_detail._COLUMNS)
        assert detail == dict(fresh.get())
    # One shape each, compiled with its placeholders (a None would mean compiled every time).
    assert list(poll_list._TEMPLATES._compiled.values()) != [None]
    assert list(poll_detail._TEMPLATES._compiled.values()) != [None]
    assert len(poll_list._TEMPLATES) == len(poll_detail._TEMPLATES) == 1
