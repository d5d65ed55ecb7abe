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
from voting.models.channels import Channel, OnsiteSession, PollInvitation
from voting.models.polls import Category, Option, Outcome, Poll, PollImage, PollQuerySet

__all__ = [
    "BoardEntry",
    "BoardTracker",
    "Category",
    "Channel",
    "CountState",
    "Envelope",
    "IdempotencyRecord",
    "OnsiteSession",
    "Option",
    "Outcome",
    "Participation",
    "Poll",
    "PollImage",
    "PollInvitation",
    "PollQuerySet",
    "TallyCell",
]
