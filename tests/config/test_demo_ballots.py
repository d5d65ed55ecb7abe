"""`make run`'s demo of the newer results (config/demo_ballots.py), read as a citizen reads them:
the results API."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config import demo_ballots
from voting.models import CountState, Envelope, Poll

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def reader(settings, client_for):
    """A demo citizen of the closed poll's audience, reading in English."""
    settings.DEBUG = True  # pytest-django turns it off; the demo is for development only
    call_command("seed_demo", verbosity=0)
    phone = demo_ballots.residents(year=2000)[0].phone
    return client_for(get_user_model().objects.get(phone=phone))


def _results(reader, poll: Poll) -> dict:
    response = reader.get(f"/api/v1/polls/{poll.pk}/results/", **ENGLISH)
    assert response.status_code == 200
    return response.json()


def _labels(poll: Poll) -> list[str]:
    return list(poll.options.order_by("position").values_list("label_en", flat=True))


def test_the_ranked_demo_poll_runs_off_over_several_rounds_with_transfers(reader):
    poll = Poll.objects.get(title=demo_ballots.RANKED_POLL.title)
    assert (poll.kind, poll.status, poll.max_choices) == ("ranked", "open", 3)
    assert poll.title_en and all(_labels(poll))

    ranked = _results(reader, poll)["ranked"]

    rounds = ranked["rounds"]
    assert len(rounds) >= 3
    moved = [move for round_ in rounds for move in round_["transfers"]]
    assert any(move["to"] is not None for move in moved)  # votes pass to a next preference
    assert any(move["to"] is None for move in moved)  # and some ballots run out of preferences
    assert rounds[-1]["elected"] == ranked["winner"] is not None
    # The runoff's winner is not the Borda count's: the demo shows that methods can disagree.
    borda = max(ranked["borda"], key=lambda row: row["points"])
    assert borda["id"] != ranked["winner"]


def test_the_score_demo_poll_shows_a_spread_of_scores_and_abstentions(reader):
    poll = Poll.objects.get(title=demo_ballots.SCORE_POLL.title)
    assert (poll.kind, poll.status, poll.score_min, poll.score_max) == ("score", "open", 1, 5)
    assert poll.score_abstain and poll.title_en and all(_labels(poll))

    scores = _results(reader, poll)["scores"]

    means = [option["mean"] for option in scores["options"]]
    assert None not in means and max(means) - min(means) >= 2
    assert all(option["abstentions"] > 0 for option in scores["options"])
    # Each option's ballots spread over at least three points of the scale.
    for option in scores["options"]:
        assert sum(row["ballots"] > 0 for row in option["distribution"]) >= 3, option


def test_the_closed_demo_poll_is_weighted_to_the_population(reader, settings):
    poll = Poll.objects.get(title=demo_ballots.WEIGHTED_POLL.title)
    assert (poll.kind, poll.status, poll.min_age) == ("single", "closed", 20)
    assert sorted(poll.districts.values_list("code", flat=True)) == sorted(demo_ballots.WEIGHTED_GU)
    assert CountState.objects.get(poll=poll).final
    assert not Envelope.objects.filter(poll=poll).exists()

    evidence = _results(reader, poll)["evidence"]

    assert evidence["status"] == "weighted", evidence["refusal"]
    assert evidence["population_source"]["reference_date"]
    weighted = evidence["weighted"]
    assert weighted["weighted_ballots"] >= settings.WEIGHTING_MIN_BALLOTS
    assert weighted["unknown_ballots"] == weighted["outside_ballots"] == 0
    assert not weighted["trimmed"]
    assert all(option["margin_of_error"] for option in weighted["options"])
    # Its voters lean young, who want the late opening more: weighted, "yes" loses ground.
    yes = poll.options.get(position=0).pk
    figures = next(option for option in weighted["options"] if option["id"] == yes)
    assert figures["weighted_share"] < figures["raw_share"] - 0.03
    # Coverage: every gu, age band and sex of the audience took part with at least k ballots,
    # so no row is withheld.
    coverage = evidence["coverage"]
    for margin in ("gu", "age_band", "sex"):
        rows = [row for row in coverage[margin] if row["population"]]
        assert rows and all(row["participants"] >= settings.BALLOT_BATCH_MIN for row in rows), (
            margin
        )
    assert len(coverage["age_band"]) >= 7  # 20s to 80 and over
