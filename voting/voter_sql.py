"""The citizen's part of statements compiled once per shape (core/sql_templates.py).

The audience rules (voting/eligibility.py) put a citizen's facts into SQL: their id, their
verification, their age and every district containing their residence. A statement holding them
is compiled from the placeholders below and run with the citizen's values; its shape is how many
residence codes there are and whether a birth year is known. The ballot's verdicts, the poll list
and the poll detail all build their citizen this way; the list and the detail add the keyed hash
of the phone (``has_voted``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from voting.eligibility import Voter

# Valid for their fields (Django compiles an out-of-range comparison to a constant) and unlike any
# constant of the statements (0, 1).
_USER = 9_007_199_254_000_001  # a big-integer key
_VERIFICATION, _AGE = 31_111, 31_222  # small-integer fields


# A string no key is (keys are 64 hex digits), like the codes'.
_KEY = "~voterkey~"


def _code(i: int) -> str:
    return f"~code{i}~"


@dataclass(frozen=True)
class VoterTemplate:
    shape: tuple[int, bool]  # (residence codes, birth year unknown)
    placeholders: dict[str, Any]
    values: dict[str, Any]

    def voter(self, given: Mapping[str, Any]) -> Voter:
        """The citizen of ``given`` — the placeholders or the values — for building a queryset."""
        age = given.get("age")
        return Voter(
            user_id=given["user"],
            verification=given["verification"],
            district_codes=tuple(given[f"code{i}"] for i in range(self.shape[0])),
            birth_year=None if age is None else timezone.localdate().year - age,
            voter_key=given.get("key", ""),
        )


def template(voter: Voter, *, with_key: bool = False) -> VoterTemplate:
    """The citizen's placeholders and values; ``with_key`` for a statement that reads their
    participations (``has_voted``), which match the phone's key as well as the account."""
    codes = len(voter.district_codes)
    placeholders: dict[str, Any] = {
        "user": _USER,
        "verification": _VERIFICATION,
        **{f"code{i}": _code(i) for i in range(codes)},
    }
    values: dict[str, Any] = {
        "user": voter.user_id,
        "verification": voter.verification,
        **{f"code{i}": code for i, code in enumerate(voter.district_codes)},
    }
    if voter.birth_year is not None:
        placeholders["age"], values["age"] = _AGE, voter.age()
    if with_key:
        placeholders["key"], values["key"] = _KEY, voter.voter_key
    return VoterTemplate(
        shape=(codes, voter.birth_year is None), placeholders=placeholders, values=values
    )
