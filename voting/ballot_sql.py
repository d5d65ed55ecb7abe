"""The SQL of the ballot path: the verdict row, and the participation that makes a vote once.

The verdict query holds every eligibility rule (the very expressions of ``eligibility.conditions``,
compiled by the ORM) and "open" by the database's clock, for one citizen and one poll: one query on
PostgreSQL and SQLite alike. The choice never goes into SQL: it is checked against the poll's
option ids in Python. The participation is an
``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the unique indexes decide "once", and the answer
says whether this request was the one.
"""

import uuid
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from voting import eligibility
from voting.models import Option, Participation, Poll

RULES = [f"rule_{reason}" for reason in eligibility.REASONS]


@dataclass(frozen=True)
class Verdicts:
    rules: dict[str, bool]
    choice_ok: bool  # the options belong to the poll and their number fits its limits
    max_choices: int


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _verdicts_queryset(poll_id: int, voter: eligibility.Voter):
    # The choice is not in this statement: the chosen option ids would reach PostgreSQL in clear
    # beside the voter's id (client-side binding puts them in the statement's text, which
    # pg_stat_activity and statement logs show). It is checked against the poll's options below.
    return eligibility.annotate_verdicts(
        Poll.objects.filter(pk=poll_id, published=True), voter
    ).values(*RULES, "min_choices", "max_choices")


# Compiling the verdict expressions costs more CPU than the rest of the ballot together, and the
# SQL differs only with the shape of the question (how many residence codes, whether a birth year
# is known). So each shape is compiled once per process, from placeholder values no real request
# can have, and each request substitutes its own values for them. The expressions stay the single
# statement of the rules (voting.eligibility); a test checks the cached SQL gives the verdicts a
# fresh compile gives. Placeholders must be valid for their fields (Django compiles an
# out-of-range comparison to a constant), and unlike any constant in the SQL (0, 1).
_VERIFICATION, _AGE = 31_111, 31_222  # small-integer fields
_USER, _POLL = 9_007_199_254_000_001, 9_007_199_254_000_002  # big-integer keys
_TEMPLATES: dict[tuple[int, bool], tuple[str, list]] = {}


def _placeholder_code(i: int) -> str:
    return f"~code{i}~"


def verdicts_sql(*, poll_id: int, voter: eligibility.Voter) -> tuple[str, list]:
    """SQL and parameters of the verdict row for one citizen and one poll."""
    shape = (len(voter.district_codes), voter.birth_year is None)
    if shape not in _TEMPLATES:
        year = timezone.localdate().year
        placeholder = eligibility.Voter(
            user_id=_USER,
            verification=_VERIFICATION,
            district_codes=tuple(_placeholder_code(i) for i in range(shape[0])),
            birth_year=None if shape[1] else year - _AGE,
        )
        queryset = _verdicts_queryset(_POLL, placeholder)
        sql, params = queryset.query.sql_with_params()
        expected = {_USER, _VERIFICATION, _POLL, *placeholder.district_codes}
        if not shape[1]:
            expected.add(_AGE)
        if not expected <= set(params):
            # A placeholder was compiled away: this shape cannot be reused safely.
            return _verdicts_queryset(poll_id, voter).query.sql_with_params()
        _TEMPLATES[shape] = (sql, list(params))
    sql, template = _TEMPLATES[shape]
    real: dict = {
        _USER: voter.user_id,
        _VERIFICATION: voter.verification,
        _AGE: voter.age(),
        _POLL: poll_id,
        **{_placeholder_code(i): code for i, code in enumerate(voter.district_codes)},
    }
    params = [
        real[p] if not isinstance(p, bool) and isinstance(p, int | str) and p in real else p
        for p in template
    ]
    return sql, params


def verdicts(*, poll_id: int, voter: eligibility.Voter, option_ids: list[int]) -> Verdicts | None:
    """The verdicts for one ballot, or None where the poll does not exist or is a draft. The
    choice (distinct ids) is judged here, in Python, against the poll's options."""
    sql, params = verdicts_sql(poll_id=poll_id, voter=voter)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    rules = {rule: bool(value) for rule, value in zip(RULES, row[: len(RULES)], strict=True)}
    min_choices, max_choices = int(row[len(RULES)]), int(row[len(RULES) + 1])
    choice_ok = False
    if all(rules.values()) and min_choices <= len(option_ids) <= max_choices:
        # Only for a ballot that may be cast: the poll's option ids, never the chosen ones.
        offered = set(Option.objects.filter(poll_id=poll_id).values_list("pk", flat=True))
        choice_ok = set(option_ids) <= offered
    return Verdicts(rules=rules, choice_ok=choice_ok, max_choices=max_choices)


# Ballots still committing and the poll's final count: a cast holds its poll's lock shared for
# its transaction; finalizing a poll takes it exclusively, so it waits for every ballot already
# past the check, and a ballot that checks after it sees the poll closed. On SQLite a writing
# transaction holds the whole database (IMMEDIATE), which already orders them.
# The key is a hash of the poll's id (ids run past 32 bits; a collision only makes one wait).
_POLL_LOCK = "SELECT {function}(hashtextextended('mvoting-poll:' || %s::text, 0))"


def lock_poll_for_cast(*, poll_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_POLL_LOCK.format(function="pg_advisory_xact_lock_shared"), [poll_id])


def lock_poll_for_final_count(*, poll_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_POLL_LOCK.format(function="pg_advisory_xact_lock"), [poll_id])


def insert_participation(*, poll_id: int, voter_id: int, voter_key: str) -> bool:
    """Record that ``voter_id`` took part; False where they (or their number) already had."""
    table = _table(Participation)
    sql = (
        f"INSERT INTO {table} (id, poll_id, voter_id, voter_key, voted_on) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [uuid.uuid4().hex, poll_id, voter_id, voter_key, timezone.localdate()])
        return cursor.fetchone() is not None
