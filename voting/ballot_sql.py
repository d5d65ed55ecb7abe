"""The ballot in one statement, on PostgreSQL.

``services.cast_ballot`` on PostgreSQL sends a single SQL statement per ballot: the eligibility
verdicts (the very expressions of ``eligibility.conditions``, compiled by the ORM), then — only if
they all hold and the choice is valid — the participation (``ON CONFLICT DO NOTHING``: the unique
index decides "once"), the anonymous ballot, its choices, the counter upserts and the idempotency
record, as data-modifying CTEs. One round trip instead of nine, atomic without an explicit
transaction, and nothing is written unless every write is.

SQLite has no data-modifying CTEs; there the same steps run as separate statements in one
transaction (``services._cast_in_steps``). The test suite runs on both.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone

from voting import eligibility, tallies
from voting.models import (
    Ballot,
    BallotChoice,
    IdempotencyRecord,
    Option,
    Participation,
    Poll,
    TallyCell,
)

RULES = [f"rule_{reason}" for reason in eligibility.REASONS]


@dataclass(frozen=True)
class Row:
    participation_id: str
    voter_id: int
    voter_key: str
    voted_on: object
    ballot_id: str
    gu_code: str
    dong_code: str
    age_band: int | None
    gender: str
    channel: str
    receipt_hash: str
    slot: int


@dataclass(frozen=True)
class Idempotency:
    lookup: str
    fingerprint: str
    status_code: int
    sealed_body: bytes


@dataclass(frozen=True)
class Outcome:
    found: bool  # the poll exists and is published
    verdicts: dict[str, bool]
    choice_ok: bool  # the options belong to the poll and their number fits its limits
    inserted: bool  # False: the participation already existed (or nothing was attempted)


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
        .values(*RULES, "choice_ok")
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


def cast(
    *,
    poll_id: int,
    voter: eligibility.Voter,
    option_ids: list[int],
    row: Row,
    idem: Idempotency | None,
) -> Outcome:
    checked_sql, checked_params = verdicts_sql(poll_id=poll_id, voter=voter, option_ids=option_ids)

    cells = sorted(
        (dimension, value, option_id)
        for dimension, value in tallies.cells_of(
            gu=row.gu_code, age_band=row.age_band, gender=row.gender
        )
        for option_id in [tallies.BALLOTS, *option_ids]
    )
    all_rules = " AND ".join(f"c.{rule}" for rule in RULES)
    participation, ballot, choice = _table(Participation), _table(Ballot), _table(BallotChoice)
    tally, record = _table(TallyCell), _table(IdempotencyRecord)

    sql = f"""
        WITH checked AS ({checked_sql}),
        ok AS (SELECT 1 FROM checked c WHERE {all_rules} AND c.choice_ok),
        part AS (
            INSERT INTO {participation} (id, poll_id, voter_id, voter_key, voted_on)
            SELECT %s, %s, %s, %s, %s FROM ok
            ON CONFLICT DO NOTHING
            RETURNING 1
        ),
        ballot AS (
            INSERT INTO {ballot}
                (id, poll_id, gu_code, dong_code, age_band, gender, channel, receipt_hash)
            SELECT %s, %s, %s, %s, %s, %s, %s, %s FROM part
            RETURNING id
        ),
        choices AS (
            INSERT INTO {choice} (ballot_id, option_id)
            SELECT ballot.id, o FROM ballot, unnest(%s::bigint[]) AS o
            RETURNING 1
        ),
        counted AS (
            INSERT INTO {tally} (poll_id, slot, dimension, value, option_id, count)
            SELECT %s, %s, t.d, t.v, t.o, 1
            FROM part, unnest(%s::text[], %s::text[], %s::bigint[]) AS t(d, v, o)
            ORDER BY t.d, t.v, t.o
            ON CONFLICT (poll_id, dimension, value, option_id, slot)
            DO UPDATE SET count = {tally}.count + excluded.count
            RETURNING 1
        ),
        remembered AS (
            INSERT INTO {record} (lookup, fingerprint, status_code, sealed_body, created_at)
            SELECT %s, %s, %s, %s, now() FROM part WHERE %s
            RETURNING 1
        )
        SELECT {", ".join(f"c.{rule}" for rule in RULES)}, c.choice_ok, (SELECT count(*) FROM part)
        FROM checked c
    """  # noqa: S608 - table names from the models, values all bound as parameters
    params = [
        *checked_params,
        row.participation_id,
        poll_id,
        row.voter_id,
        row.voter_key,
        row.voted_on,
        row.ballot_id,
        poll_id,
        row.gu_code,
        row.dong_code,
        row.age_band,
        row.gender,
        row.channel,
        row.receipt_hash,
        option_ids,
        poll_id,
        row.slot,
        [c[0] for c in cells],
        [c[1] for c in cells],
        [c[2] for c in cells],
        idem.lookup if idem else "",
        idem.fingerprint if idem else "",
        idem.status_code if idem else 0,
        idem.sealed_body if idem else b"",
        idem is not None,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchone()
    if result is None:
        return Outcome(found=False, verdicts={}, choice_ok=False, inserted=False)
    verdicts = dict(zip(RULES, result[: len(RULES)], strict=True))
    return Outcome(
        found=True,
        verdicts=verdicts,
        choice_ok=bool(result[len(RULES)]),
        inserted=bool(result[len(RULES) + 1]),
    )
