"""What the secret-ballot attack tests (tests/security/test_secrecy_*.py) share: citizens of varied
profiles, and polls whose option ids appear nowhere else, so that finding one in a row, a Redis
command or a log line is finding a choice."""

import secrets

from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import PollFactory
from voting.models import Option, Poll

RESIDENCES = (SAJIK, SINSA, None)
BIRTH_YEARS = (1958, 1977, 1996, None)
GENDERS = ("female", "male", "undisclosed")
# Every value a breakdown is made of, as stored on a citizen or in a cell.
ATTRIBUTE_VALUES = (SAJIK, SINSA, JONGNO, GANGNAM, "female", "male", "undisclosed")


def profile(i: int) -> dict:
    """The i-th citizen's residence (one in three unset), birth year (one in four unset) and
    gender, each changing at its own pace, so no breakdown cell follows another or the choice."""
    return {
        "district_id": RESIDENCES[(i // 2) % len(RESIDENCES)],
        "birth_year": BIRTH_YEARS[(i // 3) % len(BIRTH_YEARS)],
        "gender": GENDERS[(i // 5) % len(GENDERS)],
    }


def distinctive_ids(n: int) -> list[int]:
    """``n`` consecutive 19-digit ids, random enough to occur nowhere else."""
    base = 9_100_000_000_000_000_000 + secrets.randbelow(10**13) * 1_000
    return [base + i for i in range(n)]


def quiet_poll(labels=("A", "B", "C"), **fields) -> tuple[Poll, list[int]]:
    """A published open poll (PollFactory ``fields``) whose options have distinctive ids."""
    poll = PollFactory(options=[], **fields)
    ids = distinctive_ids(len(labels))
    for position, (option_id, label) in enumerate(zip(ids, labels, strict=True)):
        Option.objects.create(pk=option_id, poll=poll, label=label, position=position)
    return poll, ids
