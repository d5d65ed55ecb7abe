"""The voting app's models, one module per concern."""

from voting.models.ballot_box import (
    BoardEntry,
    BoardTracker,
    CountState,
    Envelope,
    IdempotencyRecord,
    Participation,
    TallyCell,
)
from voting.models.polls import Category, Option, Outcome, Poll, PollImage, PollQuerySet

__all__ = [
    "BoardEntry",
    "BoardTracker",
    "Category",
    "CountState",
    "Envelope",
    "IdempotencyRecord",
    "Option",
    "Outcome",
    "Participation",
    "Poll",
    "PollImage",
    "PollQuerySet",
    "TallyCell",
]
