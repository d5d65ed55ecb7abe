"""The SQL of the ballot path: the verdict row, and the participation that makes a vote once.

The verdict query holds every eligibility rule (the very expressions of ``eligibility.conditions``,
compiled by the ORM), "open" by the database's clock, and the choice's validity, for one citizen,
one poll and one choice: one query on PostgreSQL and SQLite alike. The participation is an
``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the unique indexes decide "once", and the answer
says whether this request was the one.
"""

import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
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


def _verdicts_queryset(poll_id: int, voter: eligibility.Voter, option_ids: list[int]):
    # option_ids are distinct (the caller checks); the choice is valid when all belong to the
    # poll and their number is within its limits — judged here, against the rows as they are.
    chosen_here = (
        Option.objects.filter(poll_id=OuterRef("pk"), pk__in=option_ids)
        .order_by()
        .values("poll_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    n = len(option_ids)
    return (
        eligibility.annotate_verdicts(Poll.objects.filter(pk=poll_id, published=True), voter)
        .annotate(
            choice_ok=ExpressionWrapper(
                Q(min_choices__lte=n, max_choices__gte=n)
                & Q(Exact(Coalesce(Subquery(chosen_here), 0), n)),
                output_field=BooleanField(),
            )
        )
        .values(*RULES, "choice_ok", "max_choices")
    )


# Compiling the verdict expressions costs more CPU than the rest of the ballot together, and the
# SQL differs only with the shape of the question (how many residence codes, whether a birth year
# is known, how many options are chosen — that number itself is part of the shape). So each shape
# is compiled once per process, from placeholder values no real request can have, and each request
# substitutes its own values for them. The expressions stay the single statement of the rules
# (voting.eligibility); a test checks the cached SQL gives the verdicts a fresh compile gives.
# Placeholders must be valid for their fields (Django compiles an out-of-range comparison to a
# constant), and unlike any constant in the SQL (0, 1, the number of options chosen).
_VERIFICATION, _AGE = 31_111, 31_222  # small-integer fields
_USER, _POLL = 9_007_199_254_000_001, 9_007_199_254_000_002  # big-integer keys
_TEMPLATES: dict[tuple[int, bool, int], tuple[str, list]] = {}


def _placeholder_code(i: int) -> str:
    return f"~code{i}~"


def _placeholder_option(i: int) -> int:
    return 9_007_199_254_100_000 + i


def verdicts_sql(
    *, poll_id: int, voter: eligibility.Voter, option_ids: list[int]
) -> tuple[str, list]:
    """SQL and parameters of the verdict row for one citizen, one poll and one choice."""
    shape = (len(voter.district_codes), voter.birth_year is None, len(option_ids))
    if shape not in _TEMPLATES:
        year = timezone.localdate().year
        placeholder = eligibility.Voter(
            user_id=_USER,
            verification=_VERIFICATION,
            district_codes=tuple(_placeholder_code(i) for i in range(shape[0])),
            birth_year=None if shape[1] else year - _AGE,
        )
        options = [_placeholder_option(i) for i in range(shape[2])]
        queryset = _verdicts_queryset(_POLL, placeholder, options)
        sql, params = queryset.query.sql_with_params()
        expected = {_USER, _VERIFICATION, _POLL, *placeholder.district_codes, *options}
        if not shape[1]:
            expected.add(_AGE)
        if not expected <= set(params):
            # A placeholder was compiled away: this shape cannot be reused safely.
            return _verdicts_queryset(poll_id, voter, option_ids).query.sql_with_params()
        _TEMPLATES[shape] = (sql, list(params))
    sql, template = _TEMPLATES[shape]
    real: dict = {
        _USER: voter.user_id,
        _VERIFICATION: voter.verification,
        _AGE: voter.age(),
        _POLL: poll_id,
        **{_placeholder_code(i): code for i, code in enumerate(voter.district_codes)},
        **{_placeholder_option(i): option for i, option in enumerate(option_ids)},
    }
    params = [
        real[p] if not isinstance(p, bool) and isinstance(p, int | str) and p in real else p
        for p in template
    ]
    return sql, params


def verdicts(*, poll_id: int, voter: eligibility.Voter, option_ids: list[int]) -> Verdicts | None:
    """The verdicts for one ballot, or None where the poll does not exist or is a draft."""
    sql, params = verdicts_sql(poll_id=poll_id, voter=voter, option_ids=option_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return Verdicts(
        rules={rule: bool(value) for rule, value in zip(RULES, row[: len(RULES)], strict=True)},
        choice_ok=bool(row[len(RULES)]),
        max_choices=int(row[len(RULES) + 1]),
    )


# Ballots still committing and the poll's final count: a cast holds its poll's lock shared for
# its transaction; finalizing a poll takes it exclusively, so it waits for every ballot already
# past the check, and a ballot that checks after it sees the poll closed. On SQLite a writing
# transaction holds the whole database (IMMEDIATE), which already orders them.
_POLL_LOCK_CLASS = 71_350


def lock_poll_for_cast(*, poll_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", [_POLL_LOCK_CLASS, poll_id]
            )


def lock_poll_for_final_count(*, poll_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_POLL_LOCK_CLASS, poll_id])


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
