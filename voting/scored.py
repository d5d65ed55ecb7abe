"""Score questions: per option, how many scored it, its mean and median, and every score's count.

Pure arithmetic on the published overall counters (``Tally.scores``: option → score → ballots)
and the ballots counted, so anyone can recount it from the public board. A ballot that leaves an
option unscored abstains on it: it counts in the option's abstentions, never as a zero.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OptionScores:
    option: int
    raters: int  # ballots that scored the option
    abstentions: int  # ballots that left it unscored
    mean: float | None  # None without raters
    median: float | None
    distribution: tuple[tuple[int, int], ...]  # (score, ballots), every value of the scale


def median(distribution: Sequence[tuple[int, int]]) -> float | None:
    """The median of the scores ``distribution`` ((score, ballots), scores ascending) lists: the
    middle score, or the mean of the two middle ones when the count is even."""
    count = sum(ballots for _score, ballots in distribution)
    if not count:
        return None
    # 0-based indices of the middle value(s) in the sorted list of scores.
    wanted = [(count - 1) // 2, count // 2]
    found: list[int] = []
    seen = 0
    for score, ballots in distribution:
        seen += ballots
        while wanted and wanted[0] < seen:
            found.append(score)
            wanted.pop(0)
    return (found[0] + found[1]) / 2


def summarize(
    *,
    scores: Mapping[int, Mapping[int, int]],
    ballots: int,
    options: Sequence[int],
    minimum: int,
    maximum: int,
) -> list[OptionScores]:
    """Per option (in ``options``' order), from ``scores`` and the ``ballots`` counted."""
    out = []
    for option in options:
        given = {int(score): n for score, n in scores.get(option, {}).items() if n}
        # Every value of the scale, zeros included; a value outside it (the scale cannot change
        # once ballots are cast, but never hide a counted ballot) is listed too.
        values = sorted(set(range(minimum, maximum + 1)) | set(given))
        distribution = tuple((value, given.get(value, 0)) for value in values)
        raters = sum(given.values())
        mean = round(sum(s * n for s, n in given.items()) / raters, 4) if raters else None
        out.append(
            OptionScores(
                option=option,
                raters=raters,
                abstentions=max(ballots - raters, 0),
                mean=mean,
                median=median(distribution),
                distribution=distribution,
            )
        )
    return out


def section(
    *,
    scores: Mapping[int, Mapping[int, int]],
    ballots: int,
    options: Sequence[int],
    minimum: int,
    maximum: int,
    abstain_allowed: bool,
) -> dict:
    """The results document's "scores" section."""
    return {
        "min": minimum,
        "max": maximum,
        "abstain_allowed": abstain_allowed,
        "options": [
            {
                "id": one.option,
                "raters": one.raters,
                "abstentions": one.abstentions,
                "mean": one.mean,
                "median": one.median,
                "distribution": [{"score": score, "ballots": n} for score, n in one.distribution],
            }
            for one in summarize(
                scores=scores, ballots=ballots, options=options, minimum=minimum, maximum=maximum
            )
        ],
    }
