"""An official authors ranked and score questions in the admin: the form saves what citizens can
answer and refuses, in words next to the field, what they could not."""

import pytest
from django.utils import translation

from tests.factories import OfficialFactory
from tests.voting.test_admin import ADD_URL, errors_of, login, new_poll_data
from voting.models import Poll


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def official(db):
    return OfficialFactory(role="official")


def add(official, **fields):
    return login(official).post(ADD_URL + "add/", new_poll_data(**fields))


def test_a_ranked_poll_of_the_top_two_of_three_is_saved(official):
    response = add(
        official, labels=("A", "B", "C"), kind="ranked", min_choices="1", max_choices="2"
    )

    assert response.status_code == 302, errors_of(response)
    poll = Poll.objects.get()
    assert (poll.kind, poll.min_choices, poll.max_choices) == ("ranked", 1, 2)


def test_ranking_more_options_than_the_poll_has_is_refused(official):
    response = add(official, labels=("A", "B"), kind="ranked", min_choices="1", max_choices="3")

    assert "Citizens may rank up to 3 options, but the poll has only 2" in errors_of(response)
    assert not Poll.objects.exists()


def test_ranking_more_than_twenty_options_is_refused(official):
    response = add(official, labels=tuple("ABCDEFGHIJKLMNOPQRSTU"), kind="ranked", max_choices="21")

    errors = errors_of(response)
    assert "At most 20 options can be ranked." in errors
    assert not Poll.objects.exists()


def test_a_score_poll_keeps_its_scale_and_ignores_choice_limits(official):
    response = add(
        official,
        labels=("A", "B", "C"),
        kind="score",
        min_choices="2",
        max_choices="3",
        score_min="0",
        score_max="10",
        score_abstain="",
    )

    assert response.status_code == 302, errors_of(response)
    poll = Poll.objects.get()
    assert (poll.score_min, poll.score_max, poll.score_abstain) == (0, 10, False)
    assert (poll.min_choices, poll.max_choices) == (1, 1)


@pytest.mark.parametrize(("low", "high"), [("5", "5"), ("4", "2")])
def test_a_score_scale_that_goes_nowhere_is_refused(official, low, high):
    response = add(official, kind="score", score_min=low, score_max=high)

    assert "The highest score must be above the lowest." in errors_of(response)
    assert not Poll.objects.exists()


def test_a_score_scale_beyond_ten_is_refused(official):
    response = add(official, kind="score", score_min="1", score_max="11")

    assert "less than or equal to 10" in errors_of(response)
    assert not Poll.objects.exists()
