"""What a ballot holds for each kind of question, and whether it is a valid ballot of its poll.

Pure: the same rules judge a ballot when it is cast (voting/casting.py) and again when the counter
opens it (voting/counting.py), so an envelope the counter finds invalid was altered.

- single / multiple choice: the chosen option ids, distinct, ``min_choices``..``max_choices``.
- ranked: option ids, most preferred first, distinct, ``min_choices``..``max_choices`` long (the
  official's "rank your top N" is ``max_choices``).
- score: (option id, score) pairs, one per option scored, each score on the poll's scale; an
  option left out abstains, which only a poll with ``score_abstain`` allows; at least one score.

The board keeps a ballot as ``board_form`` makes it: sorted ids (choice), ids in order (ranked),
or ``[id, score]`` pairs sorted by id (score).
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

CHOICE_KINDS = ("single", "multiple")


@dataclass(frozen=True, slots=True)
class Question:
    kind: str
    min_choices: int
    max_choices: int
    score_min: int = 1
    score_max: int = 5
    score_abstain: bool = True

    @classmethod
    def of(cls, poll) -> "Question":
        return cls(
            kind=poll.kind,
            min_choices=poll.min_choices,
            max_choices=poll.max_choices,
            score_min=poll.score_min,
            score_max=poll.score_max,
            score_abstain=poll.score_abstain,
        )


def board_form(*, kind: str, ballot: Sequence) -> list:
    """A ballot as the board (and the envelope) keeps it."""
    if kind == "ranked":
        return [int(option_id) for option_id in ballot]
    if kind == "score":
        return sorted([int(option_id), int(score)] for option_id, score in ballot)
    return sorted(int(option_id) for option_id in ballot)


def options_named(*, kind: str, ballot: Sequence) -> list[int]:
    """The option ids a ballot names (chosen, ranked or scored)."""
    if kind == "score":
        return [int(pair[0]) for pair in ballot]
    return [int(option_id) for option_id in ballot]


def problem(*, question: Question, ballot: Sequence, offered: Collection[int]) -> str | None:
    """Why ``ballot`` (in its board form) is not a valid ballot of the question, or None."""
    if question.kind == "score":
        return _score_problem(question=question, ballot=ballot, offered=offered)
    if any(isinstance(option_id, bool) or not isinstance(option_id, int) for option_id in ballot):
        return _("Name each option by its id.")
    named = options_named(kind=question.kind, ballot=ballot)
    if len(set(named)) != len(named):
        return _("An option was chosen twice.")
    if not question.min_choices <= len(named) <= question.max_choices:
        if question.kind == "single":
            return _("Choose exactly one option.")
        if question.kind == "ranked":
            return _("Rank between %(min)d and %(max)d options.") % {
                "min": question.min_choices,
                "max": question.max_choices,
            }
        return _("Choose between %(min)d and %(max)d options.") % {
            "min": question.min_choices,
            "max": question.max_choices,
        }
    if not set(named) <= set(offered):
        return _("An option does not belong to this poll.")
    return None


def _score_problem(*, question: Question, ballot: Sequence, offered: Collection[int]) -> str | None:
    if any(
        not isinstance(pair, list | tuple)
        or len(pair) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
        for pair in ballot
    ):
        return _("Each score names one option and one score.")
    named = [int(pair[0]) for pair in ballot]
    if len(set(named)) != len(named):
        return _("An option was scored twice.")
    if not named:
        return _("Score at least one option.")
    if not set(named) <= set(offered):
        return _("An option does not belong to this poll.")
    if not question.score_abstain and set(named) != set(offered):
        return _("Score every option: this poll does not allow abstaining.")
    if any(not question.score_min <= int(pair[1]) <= question.score_max for pair in ballot):
        return _("Scores go from %(min)d to %(max)d.") % {
            "min": question.score_min,
            "max": question.score_max,
        }
    return None


def envelope_room(*, question: Question, options: int) -> int:
    """How many option slots a poll's envelopes make room for (one length per poll): a score
    takes about two ids' room."""
    if question.kind == "score":
        return 2 * options
    return question.max_choices
