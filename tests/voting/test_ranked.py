"""Ranked questions' arithmetic (voting/ranked.py), on hand-worked examples.

Instant runoff eliminates one option per round; a ballot counts for its highest-ranked option
still in, or is exhausted once none is. More than half of the continuing ballots elects. A tie for
fewest votes is broken by the previous rounds, then the lower truncated Borda score, then the
option listed last in the poll — never by lot, so anyone recounting the public board gets the
same rounds. Each example below is worked out by hand in its docstring.
"""

from voting.ranked import Round, Runoff, Transfer, borda, instant_runoff, pairwise

# Option ids, in the poll's order unless a test says otherwise.
A, B, C, D = 11, 12, 13, 14


def test_no_ballots_no_rounds_and_no_winner():
    assert instant_runoff(orders={}, options=[A, B]) == Runoff(rounds=(), winner=None)


def test_a_majority_of_first_preferences_elects_in_the_first_round():
    runoff = instant_runoff(orders={(A, B): 3, (B,): 2}, options=[A, B])

    assert runoff.winner == A
    assert runoff.rounds == (
        Round(
            number=1,
            continuing=5,
            exhausted=0,
            tallies=((A, 3), (B, 2)),
            eliminated=None,
            elected=A,
            tie_break=None,
            transfers=(),
        ),
    )


def test_three_rounds_with_transfers_and_exhausted_ballots():
    """16 ballots: A>B 6, B>C 5, C>B 3, D>C 1, D 1.

    Round 1: A 6, B 5, C 3, D 2 of 16: nobody above 8. D goes: its D>C ballot moves to C, the
    ballot ranking D alone is exhausted.
    Round 2: A 6, B 5, C 4 of 15 (1 exhausted): nobody above 7.5. C goes: C>B moves 3 to B; D>C
    has nothing left and is exhausted.
    Round 3: A 6, B 8 of 14 (2 exhausted): B has more than 7 and is elected."""
    orders = {(A, B): 6, (B, C): 5, (C, B): 3, (D, C): 1, (D,): 1}

    runoff = instant_runoff(orders=orders, options=[A, B, C, D])

    assert runoff.winner == B
    first, second, third = runoff.rounds
    assert (first.continuing, first.exhausted) == (16, 0)
    assert first.tallies == ((A, 6), (B, 5), (C, 3), (D, 2))
    assert (first.eliminated, first.elected, first.tie_break) == (D, None, None)
    assert first.transfers == (Transfer(source=D, to=C, votes=1), Transfer(D, None, 1))
    assert (second.continuing, second.exhausted) == (15, 1)
    assert second.tallies == ((A, 6), (B, 5), (C, 4))
    assert second.eliminated == C
    assert second.transfers == (Transfer(C, B, 3), Transfer(C, None, 1))
    assert (third.number, third.continuing, third.exhausted) == (3, 14, 2)
    assert third.tallies == ((A, 6), (B, 8))
    assert (third.eliminated, third.elected, third.transfers) == (None, B, ())


def test_a_tie_for_fewest_goes_back_to_the_previous_rounds():
    """A 6, B>C 3, C 4, D>B 1 (14 ballots).

    Round 1: A 6, B 3, C 4, D 1: D goes, its ballot to B.
    Round 2: A 6, B 4, C 4: B and C tie for fewest; in round 1 B had 3 and C 4, so B goes. Its
    B>C ballots move to C; D>B has nothing left.
    Round 3: A 6, C 7 of 13: C is elected."""
    orders = {(A,): 6, (B, C): 3, (C,): 4, (D, B): 1}

    runoff = instant_runoff(orders=orders, options=[A, B, C, D])

    assert [r.tie_break for r in runoff.rounds] == [None, "previous_rounds", None]
    assert runoff.rounds[1].eliminated == B
    assert runoff.rounds[1].transfers == (Transfer(B, C, 3), Transfer(B, None, 1))
    assert runoff.rounds[2].tallies == ((A, 6), (C, 7))
    assert (runoff.rounds[2].exhausted, runoff.winner) == (1, C)


def test_a_tie_in_the_first_round_goes_to_the_lower_borda_score():
    """A 4, B 2, C>B 2 (8 ballots, 3 options: first place 2 points, second 1).

    Round 1: A 4, B 2, C 2: B and C tie, with no round before. Borda: B 2×2 + 2×1 = 6, C 2×2 = 4:
    C goes, its ballots to B.
    Round 2: A 4, B 4: a tie again, but round 1 had B at 2 below A's 4: B goes (previous rounds).
    Round 3: A alone is elected, with 4 ballots continuing and 4 exhausted."""
    orders = {(A,): 4, (B,): 2, (C, B): 2}

    runoff = instant_runoff(orders=orders, options=[A, B, C])

    assert [(r.eliminated, r.tie_break) for r in runoff.rounds] == [
        (C, "borda"),
        (B, "previous_rounds"),
        (None, None),
    ]
    assert runoff.rounds[0].transfers == (Transfer(C, B, 2),)
    assert (runoff.rounds[2].continuing, runoff.rounds[2].exhausted) == (4, 4)
    assert runoff.winner == A


def test_a_tie_nothing_else_separates_eliminates_the_option_listed_last():
    """A 2, B 2: equal now, no round before, equal Borda (2 points each): B is listed last."""
    runoff = instant_runoff(orders={(A,): 2, (B,): 2}, options=[A, B])

    assert [(r.eliminated, r.tie_break) for r in runoff.rounds] == [(B, "position"), (None, None)]
    assert runoff.winner == A

    listed_the_other_way = instant_runoff(orders={(A,): 2, (B,): 2}, options=[B, A])
    assert listed_the_other_way.winner == B


def test_options_nobody_ranked_are_in_the_first_round_with_nothing_and_go_first():
    """Options A, U, B, V; ballots A 2, B 2: U and V have no votes.

    Round 1: A 2, U 0, B 2, V 0: U and V tie with the same (zero) Borda score: V, listed last,
    goes; no ballot moves.
    Round 2: A 2, U 0, B 2: U goes, alone.
    Round 3: A 2, B 2: equal in every round before and in Borda (3 points a ballot): B, listed
    after A, goes; its ballots are exhausted.
    Round 4: A is elected."""
    u, v = 21, 22

    runoff = instant_runoff(orders={(A,): 2, (B,): 2}, options=[A, u, B, v])

    assert runoff.rounds[0].tallies == ((A, 2), (u, 0), (B, 2), (v, 0))
    assert [(r.eliminated, r.tie_break, r.transfers) for r in runoff.rounds] == [
        (v, "position", ()),
        (u, None, ()),
        (B, "position", (Transfer(B, None, 2),)),
        (None, None, ()),
    ]
    assert runoff.winner == A


def test_truncated_borda_gives_unranked_options_nothing():
    """4 options: first place 3 points, second 2, third 1. A: 3 firsts = 9. B: 1 first and 2
    seconds = 3 + 4 = 7. C: 1 second and 1 third = 2 + 1 = 3. D: never ranked = 0."""
    ranks = {0: {A: 3, B: 1}, 1: {B: 2, C: 1}, 2: {C: 1}}

    assert borda(ranks=ranks, options=[A, B, C, D]) == {A: 9, B: 7, C: 3, D: 0}


def test_the_condorcet_winner_can_lose_the_runoff():
    """A>B 4, C>B 3, B>A 2 (C unranked on the first and last ballots, A on the second).

    Runoff: A 4, C 3, B 2: B goes, its 2 ballots to A, and A wins 6 to 3. Head to head B wins
    both: over A 5 (C>B, B>A) to 4 (A>B), over C 6 (A>B, B>A) to 3 (C>B). The centre is squeezed
    out of the runoff though a majority prefers it to either rival."""
    orders: dict[tuple[int, ...], int] = {(A, B): 4, (C, B): 3, (B, A): 2}
    pairs = {(A, B): 4, (B, A): 5, (A, C): 6, (C, A): 3, (B, C): 6, (C, B): 3}

    assert instant_runoff(orders=orders, options=[A, B, C]).winner == A
    heads = pairwise(pairs=pairs, options=[A, B, C])
    assert heads.condorcet_winner == B
    assert heads.matrix[(B, A)] == 5 and heads.matrix[(A, B)] == 4


def test_a_condorcet_cycle_has_no_condorcet_winner():
    """A>B>C 3, B>C>A 3, C>A>B 3: A beats B 6–3, B beats C 6–3, C beats A 6–3."""
    pairs = {(A, B): 6, (B, A): 3, (B, C): 6, (C, B): 3, (C, A): 6, (A, C): 3}

    assert pairwise(pairs=pairs, options=[A, B, C]).condorcet_winner is None


def test_a_head_to_head_tie_is_not_a_win():
    """A beats C, and ties B 3–3: A does not beat every other option, and nobody does."""
    pairs = {(A, B): 3, (B, A): 3, (A, C): 5, (C, A): 1, (B, C): 4, (C, B): 2}

    heads = pairwise(pairs=pairs, options=[A, B, C])

    assert heads.condorcet_winner is None
    assert heads.matrix[(C, B)] == 2


def test_pairs_nobody_counted_are_zero_in_the_matrix():
    heads = pairwise(pairs={(A, B): 1}, options=[A, B, C])

    assert heads.matrix == {(A, B): 1, (A, C): 0, (B, A): 0, (B, C): 0, (C, A): 0, (C, B): 0}
    assert heads.condorcet_winner is None  # A ties C at 0–0
