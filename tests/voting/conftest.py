"""Fixtures shared by the voting app's tests."""

import pytest
from django.test import Client

from tests.ballot_box import cast_many, close_and_count
from tests.district_codes import JONGNO, JUNG, SAJIK, SINSA
from tests.factories import OfficialFactory, PollFactory, born


def login(user, language: str = "en", **client_options) -> Client:
    """The admin's test client signed in as ``user`` (its second factor passed: tests/conftest.py),
    reading pages in ``language``."""
    client = Client(headers={"accept-language": language}, **client_options)
    client.force_login(user)
    return client


@pytest.fixture
def city_official():
    return OfficialFactory(role="official")


@pytest.fixture
def jongno_official():
    return OfficialFactory(role="official", gu=JONGNO)


@pytest.fixture
def voted_poll():
    """A closed, counted poll for all of Seoul (results for officials only) whose ballots are
    spread so that some breakdown cells are withheld whole and some option numbers inside the
    listed ones too.

    44 ballots: 종로구 A 10 / B 4, 강남구 A 14 / B 6, 중구 A 10 / B 0; ages 30s 24, 50s 20;
    female 31 (A 25 / B 6), male 10, other 3. Listed: the three gu (종로구's and 중구's votes
    suppressed), both age bands (all votes suppressed: each has a B below 5 or its pair), and
    female only (male would give "other" away).
    """
    poll = PollFactory(
        title="청계천 야간 개방", options=["찬성", "반대"], results_visibility="officials"
    )
    yes, no = poll.options.all()
    groups = [
        (10, SAJIK, 35, "female", yes),
        (4, SAJIK, 35, "male", no),
        (8, SINSA, 55, "female", yes),
        (6, SINSA, 55, "female", no),
        (6, SINSA, 55, "male", yes),
        (3, JUNG, 35, "other", yes),
        (7, JUNG, 35, "female", yes),
    ]
    for n, district, age, gender, option in groups:
        cast_many(poll, n, [option.pk], district_id=district, birth_year=born(age), gender=gender)
    close_and_count(poll)
    return poll
