"""Ranked questions: instant runoff, truncated Borda and head-to-head counts, from the counters.

Everything here is arithmetic on the published overall counters (``Tally.orders``, ``ranks``,
``pairs``), which anyone can recount from the public board: so anyone can redo the runoff, and it
must come out the same every time. That is why no tie is ever broken by lot: each tie rule is a
fact of the published counts or of the poll as it was published (docs/evidence.md, "Ranked and
score questions").

Instant runoff, one elimination per round:

1. Each continuing ballot counts for its highest-ranked option still in the race; a ballot with
   no such option left is exhausted and counts no more.
2. An option with more than half of the continuing ballots is elected; so is the last option in.
3. Otherwise the option with the fewest votes is eliminated. A tie for fewest is broken by:
   ``previous_rounds`` (fewest votes in the round before, then the one before that, back to
   round 1), then ``borda`` (the lower truncated Borda score), then ``position`` (the option
   listed last in the poll).
"""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial

PREVIOUS_ROUNDS, BORDA, POSITION = "previous_rounds", "borda", "position"
TIE_BREAKS = (PREVIOUS_ROUNDS, BORDA, POSITION)


@dataclass(frozen=True)
class Transfer:
    """Ballots of an eliminated option moved on: to the next option they rank that is still in,
    or, with ``to`` None, exhausted."""

    source: int
    to: int | None
    votes: int


@dataclass(frozen=True)
class Round:
    number: int
    continuing: int  # ballots still counting for an option
    exhausted: int  # ballots with no option left (every one they rank is eliminated)
    tallies: tuple[tuple[int, int], ...]  # (option, votes) of the options still in, poll order
    eliminated: int | None
    elected: int | None
    tie_break: str | None  # which rule decided the elimination; None without a tie
    transfers: tuple[Transfer, ...]  # of the eliminated option's ballots, in poll order


@dataclass(frozen=True)
class Runoff:
    rounds: tuple[Round, ...]
    winner: int | None


@dataclass(frozen=True)
class Pairwise:
    # (a, b) → ballots ranking a above b, for every ordered pair of distinct options.
    matrix: Mapping[tuple[int, int], int]
    condorcet_winner: int | None  # beats every other option head to head, strictly; or None


def _clean(orders: Mapping[tuple[int, ...], int], known: set[int]) -> dict[tuple[int, ...], int]:
    counted = {order: n for order, n in orders.items() if n > 0}
    if all(known.issuperset(order) for order in counted):
        return counted
    # An id that is not an option of the poll cannot be counted for; drop it (merging rankings
    # that become equal) rather than fail the whole document.
    cleaned: Counter[tuple[int, ...]] = Counter()
    for order, n in counted.items():
        cleaned[tuple(option for option in order if option in known)] += n
    return dict(cleaned)


def _top(order: tuple[int, ...], continuing: set[int]) -> int | None:
    for option in order:
        if option in continuing:
            return option
    return None


def _borda_of_orders(
    orders: Mapping[tuple[int, ...], int], options: Sequence[int]
) -> dict[int, int]:
    n = len(options)
    points = dict.fromkeys(options, 0)
    for order, ballots in orders.items():
        for position, option in enumerate(order):
            points[option] += max(n - 1 - position, 0) * ballots
    return points


def _to_eliminate(
    tied: list[int],
    *,
    history: Sequence[Mapping[int, int]],
    points: Callable[[], Mapping[int, int]],
    positions: Mapping[int, int],
) -> tuple[int, str | None]:
    """The option to eliminate among ``tied`` (all with the fewest votes), and the rule that
    decided. Each rule keeps the options it cannot tell apart for the next one."""
    if len(tied) == 1:
        return tied[0], None
    for past in reversed(history):
        fewest = min(past[option] for option in tied)
        tied = [option for option in tied if past[option] == fewest]
        if len(tied) == 1:
            return tied[0], PREVIOUS_ROUNDS
    scores = points()
    lowest = min(scores[option] for option in tied)
    tied = [option for option in tied if scores[option] == lowest]
    if len(tied) == 1:
        return tied[0], BORDA
    return max(tied, key=positions.__getitem__), POSITION


def instant_runoff(*, orders: Mapping[tuple[int, ...], int], options: Sequence[int]) -> Runoff:
    """The instant runoff of ``orders`` (each distinct ranking, most preferred first → ballots)
    among ``options`` (in the poll's order). No ballot ranking anything: no rounds, no winner."""
    positions = {option: index for index, option in enumerate(options)}
    orders = _clean(orders, set(positions))
    if not any(orders):
        return Runoff(rounds=(), winner=None)
    # Borda scores are needed only to break a tie the rounds cannot: computed then, once.
    points = cache(partial(_borda_of_orders, orders, options))
    total = sum(orders.values())
    # Each continuing option's pile of rankings counting for it: a round moves only the
    # eliminated option's pile, so the whole runoff reads each ranking about once per option it
    # names, however many rounds there are.
    piles: dict[int, list[tuple[tuple[int, ...], int]]] = {option: [] for option in options}
    counts = dict.fromkeys(options, 0)
    exhausted = 0
    for order, n in orders.items():
        if order:
            piles[order[0]].append((order, n))
            counts[order[0]] += n
        else:
            exhausted += n
    continuing = list(options)
    history: list[dict[int, int]] = []
    rounds: list[Round] = []
    while True:
        votes = {option: counts[option] for option in continuing}
        live = total - exhausted
        tallies = tuple(votes.items())
        leader = max(continuing, key=votes.__getitem__)
        if 2 * votes[leader] > live or len(continuing) == 1:
            rounds.append(
                Round(
                    number=len(rounds) + 1,
                    continuing=live,
                    exhausted=exhausted,
                    tallies=tallies,
                    eliminated=None,
                    elected=leader,
                    tie_break=None,
                    transfers=(),
                )
            )
            return Runoff(rounds=tuple(rounds), winner=leader)
        fewest = min(votes.values())
        loser, rule = _to_eliminate(
            [option for option in continuing if votes[option] == fewest],
            history=history,
            points=points,
            positions=positions,
        )
        continuing.remove(loser)
        still_in = set(continuing)
        moved: Counter[int | None] = Counter()
        for order, n in piles.pop(loser):
            to = _top(order, still_in)
            moved[to] += n
            if to is None:
                exhausted += n
            else:
                piles[to].append((order, n))
                counts[to] += n
        transfers = tuple(
            Transfer(source=loser, to=to, votes=moved[to])
            for to in [*continuing, None]
            if moved[to]
        )
        rounds.append(
            Round(
                number=len(rounds) + 1,
                continuing=live,
                exhausted=total - live,
                tallies=tallies,
                eliminated=loser,
                elected=None,
                tie_break=rule,
                transfers=transfers,
            )
        )
        history.append(votes)


def borda(*, ranks: Mapping[int, Mapping[int, int]], options: Sequence[int]) -> dict[int, int]:
    """Truncated Borda: a ballot gives the option it ranks at position p (from 0) n − 1 − p
    points, n the number of options; options it leaves unranked get nothing from it."""
    n = len(options)
    points = dict.fromkeys(options, 0)
    for position, counts in ranks.items():
        worth = max(n - 1 - int(position), 0)
        for option, ballots in counts.items():
            if option in points:
                points[option] += worth * ballots
    return points


def pairwise(*, pairs: Mapping[tuple[int, int], int], options: Sequence[int]) -> Pairwise:
    """Head-to-head counts between every two options, and the Condorcet winner: the option
    more ballots rank above each other option than below it (none among fewer than two)."""
    matrix = {(a, b): pairs.get((a, b), 0) for a in options for b in options if a != b}
    winners = [
        a for a in options if all(matrix[(a, b)] > matrix[(b, a)] for b in options if b != a)
    ]
    winner = winners[0] if len(options) > 1 and winners else None
    return Pairwise(matrix=matrix, condorcet_winner=winner)


def _share(votes: int, total: int) -> float:
    return round(votes / total, 4) if total else 0.0


def section(
    *,
    ranks: Mapping[int, Mapping[int, int]],
    pairs: Mapping[tuple[int, int], int],
    orders: Mapping[tuple[int, ...], int],
    ballots: int,
    options: Sequence[int],
    max_rank: int,
) -> dict:
    """The results document's "ranked" section (design: docs/evidence.md): first preferences,
    the runoff's rounds, Borda points and the head-to-head table."""
    runoff = instant_runoff(orders=orders, options=options)
    points = borda(ranks=ranks, options=options)
    heads = pairwise(pairs=pairs, options=options)
    first = ranks.get(0, {})
    return {
        "max_rank": max_rank,
        "first_preferences": [
            {
                "id": option,
                "votes": first.get(option, 0),
                "share": _share(first.get(option, 0), ballots),
            }
            for option in options
        ],
        "rounds": [_round(one) for one in runoff.rounds],
        "winner": runoff.winner,
        "borda": [{"id": option, "points": points[option]} for option in options],
        "pairwise": [
            {
                "id": a,
                "against": [
                    {"id": b, "wins": heads.matrix[(a, b)], "losses": heads.matrix[(b, a)]}
                    for b in options
                    if b != a
                ],
            }
            for a in options
        ],
        "condorcet_winner": heads.condorcet_winner,
    }


def _round(one: Round) -> dict:
    return {
        "round": one.number,
        "continuing": one.continuing,
        "exhausted": one.exhausted,
        "tallies": [
            {"id": option, "votes": votes, "share": _share(votes, one.continuing)}
            for option, votes in one.tallies
        ],
        "eliminated": [] if one.eliminated is None else [one.eliminated],
        "elected": one.elected,
        "tie_break": one.tie_break,
        "transfers": [
            {"from": transfer.source, "to": transfer.to, "votes": transfer.votes}
            for transfer in one.transfers
        ],
    }
