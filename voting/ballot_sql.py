"""The SQL of the ballot path: the verdict row, and the participation that makes a vote once.

The verdict query holds every eligibility rule (the very expressions of ``eligibility.conditions``,
compiled by the ORM) and "open" by the database's clock, for one citizen and one poll: one query on
PostgreSQL and SQLite alike. The choice never goes into SQL: it is checked against the poll's
option ids in Python. The participation is an
``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the unique indexes decide "once", and the answer
says whether this request was the one.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.utils import timezone

from core.sql_templates import Templates
from voting import eligibility, questions, voter_sql
from voting.models import Option, Participation, Poll

RULES = [f"rule_{reason}" for reason in eligibility.REASONS]
QUESTION = ["kind", "min_choices", "max_choices", "score_min", "score_max", "score_abstain"]


@dataclass(frozen=True)
class Verdicts:
    rules: dict[str, bool]
    upcoming: bool  # published, not opened yet
    choice_ok: bool  # a valid ballot of the poll's question (voting/questions.py)
    question: questions.Question
    problem: str | None = None  # why the ballot is not valid, where it may be cast at all
    options: int = 0  # how many options the poll offers (known where it may be cast)
    onsite_only: bool = False  # ballots only through an on-site session's QR code


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _verdicts_queryset(poll_id: int, voter: eligibility.Voter):
    # The choice is not in this statement: the chosen option ids would reach PostgreSQL in clear
    # beside the voter's id (client-side binding puts them in the statement's text, which
    # pg_stat_activity and statement logs show). It is checked against the poll's options below.
    # "Upcoming" by the database's clock, as "open" is: it orders the refusal's reasons.
    return (
        # A private poll the citizen may not see has no row: a 404, as a draft (never a refusal,
        # which would tell that it exists). Same placeholders, so still one statement per shape.
        eligibility.annotate_verdicts(
            Poll.objects.filter(eligibility.visible(voter.user_id), pk=poll_id, published=True),
            voter,
        )
        .annotate(upcoming=ExpressionWrapper(Q(opens_at__gt=Now()), output_field=BooleanField()))
        .values(*RULES, *QUESTION, "onsite_only", "upcoming")
    )


# Compiling the verdict expressions costs more CPU than the rest of the ballot together, and the
# SQL differs only with the shape of the question (how many residence codes, whether a birth year
# is known): each shape is compiled once per process (core/sql_templates.py, voting/voter_sql.py).
# The expressions stay the single statement of the rules (voting.eligibility); a test checks the
# cached SQL gives the verdicts a fresh compile gives.
_TEMPLATES = Templates("ballot verdicts")
_POLL = 9_007_199_254_000_002  # a big-integer key, unlike the citizen's placeholders


def verdicts_sql(*, poll_id: int, voter: eligibility.Voter) -> tuple[str, list]:
    """SQL and parameters of the verdict row for one citizen and one poll."""
    citizen = voter_sql.template(voter)

    def build(given: Mapping[str, Any]):
        return _verdicts_queryset(given["poll"], citizen.voter(given))

    return _TEMPLATES.sql(
        shape=citizen.shape,
        build=build,
        placeholders={**citizen.placeholders, "poll": _POLL},
        values={**citizen.values, "poll": poll_id},
    )


def verdicts(*, poll_id: int, voter: eligibility.Voter, ballot: list) -> Verdicts | None:
    """The verdicts for one ballot (in its board form, voting/questions.py), or None where the
    poll does not exist or is a draft. The ballot is judged here, in Python, against the poll's
    question and options."""
    sql, params = verdicts_sql(poll_id=poll_id, voter=voter)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    rules = {rule: bool(value) for rule, value in zip(RULES, row[: len(RULES)], strict=True)}
    fields = dict(zip(QUESTION, row[len(RULES) : len(RULES) + len(QUESTION)], strict=True))
    question = questions.Question(
        kind=str(fields["kind"]),
        min_choices=int(fields["min_choices"]),
        max_choices=int(fields["max_choices"]),
        score_min=int(fields["score_min"]),
        score_max=int(fields["score_max"]),
        score_abstain=bool(fields["score_abstain"]),
    )
    problem, offered = None, set()
    if all(rules.values()):
        # Only for a ballot that may be cast: the poll's option ids, never the chosen ones.
        offered = set(Option.objects.filter(poll_id=poll_id).values_list("pk", flat=True))
        problem = questions.problem(question=question, ballot=ballot, offered=offered)
    upcoming, onsite_only = bool(row[-1]), bool(row[-2])
    return Verdicts(
        rules=rules,
        upcoming=upcoming,
        choice_ok=all(rules.values()) and problem is None,
        question=question,
        problem=problem,
        options=len(offered),
        onsite_only=onsite_only,
    )


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


def insert_participation(
    *,
    poll_id: int,
    voter_id: int,
    voter_key: str,
    channel: str = "app",
    onsite_session_id: int | None = None,
) -> bool:
    """Record that ``voter_id`` took part, and through which channel; False where they (or
    their number) already had."""
    table = _table(Participation)
    sql = (
        f"INSERT INTO {table} "  # noqa: S608
        "(id, poll_id, voter_id, voter_key, voted_on, channel, onsite_session_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"
    )
    params: list[Any] = [uuid.uuid4().hex, poll_id, voter_id, voter_key, timezone.localdate()]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, channel, onsite_session_id])
        return cursor.fetchone() is not None
