"""Ranked and score questions through the ballot box: what a citizen may send, what is sealed,
what the counter counts (per rank position, pair, ranking and score value) and that the public
board recounts every one of those counters exactly."""

from collections import Counter

import pytest

from tests.ballot_box import (
    after_close,
    assert_box_consistent,
    close_and_count,
    opened_envelopes,
)
from tests.factories import CitizenFactory, PollFactory
from voting import board, casting, counting, sealing, tallies
from voting.models import BoardEntry, Envelope, Participation, TallyCell


def ballots_url(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/ballots/"


def ranked_poll(**fields):
    fields = {"kind": "ranked", "min_choices": 1, "max_choices": 3, **fields}
    return PollFactory(options=["가", "나", "다", "라"], **fields)


def score_poll(**fields):
    fields = {
        "kind": "score",
        "min_choices": 1,
        "max_choices": 3,
        "score_min": 1,
        "score_max": 5,
        **fields,
    }
    return PollFactory(options=["가", "나", "다"], **fields)


def ids(poll) -> list[int]:
    return list(poll.options.order_by("position").values_list("pk", flat=True))


@pytest.fixture
def citizen_api(db, client_for):
    def make():
        citizen = CitizenFactory()
        return citizen, client_for(citizen)

    return make


def test_a_ranking_is_sealed_in_the_citizens_order(citizen_api):
    poll = ranked_poll()
    a, b, c, _d = ids(poll)
    _citizen, api = citizen_api()

    response = api.post(ballots_url(poll), {"ranking": [c, a, b]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ranking"] == [c, a, b]
    assert body["options"] == sorted([a, b, c])
    (sealed,) = opened_envelopes(poll)
    assert sealed["o"] == [c, a, b]  # the order is the ballot: never sorted


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda a, b, c, d: {"ranking": [a, a]}, "twice"),
        (lambda a, b, c, d: {"ranking": [a, b, c, d]}, "Rank between 1 and 3"),
        (lambda a, b, c, d: {"ranking": [a, 9_999_999]}, "does not belong"),
        (lambda a, b, c, d: {"options": [a]}, "asks for a ranking"),
        (lambda a, b, c, d: {"scores": [{"option": a, "score": 1}]}, "asks for a ranking"),
        (lambda a, b, c, d: {"ranking": [a], "options": [a]}, "exactly one"),
    ],
)
def test_a_ranking_that_is_not_one_is_refused_and_nothing_is_cast(citizen_api, make, expected):
    poll = ranked_poll()
    _citizen, api = citizen_api()

    response = api.post(
        ballots_url(poll), make(*ids(poll)), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_choice"
    assert expected in response.json()["detail"]
    assert not Participation.objects.filter(poll=poll).exists()
    assert not Envelope.objects.filter(poll=poll).exists()


def test_scores_with_an_abstention_are_sealed_as_pairs(citizen_api):
    poll = score_poll()
    a, _b, c = ids(poll)
    _citizen, api = citizen_api()

    response = api.post(
        ballots_url(poll),
        {"scores": [{"option": c, "score": 2}, {"option": a, "score": 5}]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["scores"] == [{"option": a, "score": 5}, {"option": c, "score": 2}]
    (sealed,) = opened_envelopes(poll)
    assert sealed["o"] == [[a, 5], [c, 2]]  # b abstained: not named at all


@pytest.mark.parametrize(
    ("abstain", "make", "expected"),
    [
        (True, lambda a, b, c: [{"option": a, "score": 6}], "Scores go from 1 to 5"),
        (True, lambda a, b, c: [{"option": a, "score": 0}], "Scores go from 1 to 5"),
        (True, lambda a, b, c: [], "at least one"),
        (True, lambda a, b, c: [{"option": a, "score": 1}, {"option": a, "score": 2}], "twice"),
        (False, lambda a, b, c: [{"option": a, "score": 3}], "does not allow abstaining"),
    ],
)
def test_scores_off_the_scale_or_abstentions_the_poll_forbids_are_refused(
    citizen_api, abstain, make, expected
):
    poll = score_poll(score_abstain=abstain)
    _citizen, api = citizen_api()

    response = api.post(
        ballots_url(poll), {"scores": make(*ids(poll))}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_choice"
    assert expected in response.json()["detail"]
    assert not Participation.objects.filter(poll=poll).exists()


def test_every_envelope_of_a_score_poll_has_one_length_whatever_it_scores(db):
    """The length of a sealed envelope must not tell a database reader how many options a
    citizen scored (or abstained on)."""
    poll = score_poll(score_max=10)
    a, b, c = ids(poll)
    casting.cast_ballot(poll=poll, voter=CitizenFactory(), scores=[(a, 1)])
    casting.cast_ballot(poll=poll, voter=CitizenFactory(), scores=[(a, 10), (b, 10), (c, 10)])

    lengths = {len(bytes(sealed)) for sealed in Envelope.objects.values_list("sealed", flat=True)}

    assert len(lengths) == 1


def rankings_for(a, b, c, d, k):
    """A profile whose counters are easy to work out by hand, at least 2k ballots."""
    return [[a, b, c]] * k + [[b, a]] * (k // 2) + [[c]] * (k - k // 2) + [[d, c, a]] * 2


def test_the_count_keeps_counters_per_position_pair_and_ranking_and_the_board_recounts_them(db):
    poll = ranked_poll()
    a, b, c, d = ids(poll)
    k = counting.k()
    rankings = rankings_for(a, b, c, d, k)
    for ranking in rankings:
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), ranking=ranking)

    close_and_count(poll)
    tally = tallies.read(poll.pk)

    assert tally.overall.ballots == len(rankings)
    # Every option's total: the ballots that rank it anywhere.
    assert tally.overall.votes == dict(Counter(o for r in rankings for o in r))
    assert tally.ranks[0] == dict(Counter(r[0] for r in rankings))
    assert tally.ranks[1] == dict(Counter(r[1] for r in rankings if len(r) > 1))
    assert tally.orders == {tuple(r): n for r, n in Counter(map(tuple, rankings)).items()}
    # a over b: ranked above it ([a, b, c], [d, c, a]: b unranked) — not [b, a], nor [c].
    assert tally.pairs[(a, b)] == k + 2
    assert tally.pairs[(b, a)] == k // 2
    # Two options both unranked: no preference either way ([c] leaves a, b, d all unranked).
    assert tally.pairs.get((a, d), 0) == k + k // 2
    assert tally.pairs.get((d, a), 0) == 2
    # The board keeps each ranking in its order, and recounts every counter.
    on_board = [
        ballot for entry in BoardEntry.objects.filter(poll=poll) for ballot in entry.ballots
    ]
    assert sorted(map(tuple, on_board)) == sorted(map(tuple, rankings))
    assert_recounted(poll, tally)
    assert_box_consistent([poll.pk])


def test_the_count_keeps_counters_per_score_value_and_the_board_recounts_them(db):
    poll = score_poll()
    a, b, c = ids(poll)
    k = counting.k()
    ballots = [[(a, 5), (b, 1)]] * k + [[(a, 3)]] * k + [[(a, 4), (b, 4), (c, 4)]] * 2
    for scores in ballots:
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), scores=scores)

    close_and_count(poll)
    tally = tallies.read(poll.pk)

    assert tally.overall.votes == {a: 2 * k + 2, b: k + 2, c: 2}  # raters: abstainers not in it
    assert tally.scores[a] == {5: k, 3: k, 4: 2}
    assert tally.scores[b] == {1: k, 4: 2}
    assert tally.scores[c] == {4: 2}
    assert_recounted(poll, tally)
    assert_box_consistent([poll.pk])


def assert_recounted(poll, tally) -> None:
    """The board's ballots give exactly the counters (breakdowns are not on the board)."""
    recount = tallies.recount(poll.pk)
    assert recount.overall == tally.overall
    assert tallies.ballot_counters_of(recount) == tallies.ballot_counters_of(tally)


def test_a_changed_rank_counter_is_caught_by_the_recount(db):
    """An operator who nudges one ranked counter (to move an instant-runoff) is caught: the
    board's ballots recount every counter."""
    poll = ranked_poll()
    a, b, c, d = ids(poll)
    for ranking in rankings_for(a, b, c, d, counting.k()):
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), ranking=ranking)
    close_and_count(poll)
    assert board.check(poll_id=poll.pk).ok

    TallyCell.objects.filter(poll=poll, dimension=tallies.ORDER).update(count=1)

    problems = board.check(poll_id=poll.pk).problems
    assert any("orders counters differ" in problem for problem in problems), problems


def test_an_envelope_that_is_not_a_valid_ranking_stops_the_count(db):
    """Someone who can write envelopes (the database, the web tier's key) cannot slip in a
    ranking that names an option twice: the counter judges it by the same rules and stops."""
    poll = ranked_poll()
    a, b, c, d = ids(poll)
    k = counting.k()
    for ranking in rankings_for(a, b, c, d, k):
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), ranking=ranking)
    forged = sealing.seal_envelope(
        payload={"p": poll.pk, "o": [a, a, b], "g": "", "a": None, "s": "", "t": "0" * 64},
        max_choices=3,
    )
    Envelope.objects.create(poll=poll, lookup="f" * 64, sealed=forged)

    with pytest.raises(counting.IntegrityAlarm):
        counting.count_poll(poll_id=poll.pk, counter=sealing.Counter(), now=after_close(poll))

    assert not BoardEntry.objects.filter(poll=poll).exists()


def test_the_counters_grow_with_the_kinds_of_ballot_never_with_their_number(db):
    """O(1) reads: a ranked poll's counters are per position, pair and distinct ranking, so three
    times the ballots with the same rankings need no more rows — the results read sums as many."""
    k = counting.k()
    rows = {}
    for times in (1, 3):
        poll = ranked_poll()
        a, b, c, d = ids(poll)
        for ranking in rankings_for(a, b, c, d, k) * times:
            casting.cast_ballot(poll=poll, voter=CitizenFactory(), ranking=ranking)
        close_and_count(poll)
        assert tallies.read(poll.pk).overall.ballots == len(rankings_for(a, b, c, d, k)) * times
        rows[times] = TallyCell.objects.filter(poll=poll).exclude(dimension__in=BREAKDOWNS).count()

    assert rows[3] == rows[1]


BREAKDOWNS = ("gu", "age", "gender")
