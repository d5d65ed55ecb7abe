"""The app's poll list: one query for what differs from citizen to citizen, cards from the cache.

Every app asks for this list when it opens. Per citizen, a page needs which polls pass the
audience rules, whether they voted, and each poll's participants; that is one statement
(``selectors.poll_list``, with ``COUNT(*) OVER ()`` for the page count), compiled once per shape
of request (core/sql_templates.py): compiling the rules' subqueries cost the ORM more CPU than the
database spends running them. Everything else on a poll's line — title, category, cover image,
times — is its card (voting/poll_cards.py), cached under the poll's ``updated_at``, which that
statement reads too. A warm page is one query and one cache round trip.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet, Window
from django.utils import timezone
from rest_framework.request import Request

from core.pagination import PageRequest, last_page, page_body
from core.sql_templates import Templates, db_datetime
from voting import eligibility, poll_cards, selectors, voter_sql

_TEMPLATES = Templates("poll list")
_COLUMNS = ("pk", "updated_at", "in_audience", "has_voted", "participants", "matching")

# Placeholders, unlike any real value or constant in the query (core/sql_templates.py); the
# citizen's are voter_sql's.
_NOW = datetime(2999, 12, 31, 23, 58, 57, 123_457, tzinfo=UTC)
_CATEGORY = "~category~"


@dataclass(frozen=True)
class _Row:
    poll_id: int
    stamp: str
    in_audience: bool
    has_voted: bool
    participants: int
    matching: int  # rows of the whole list, not only this page


def _queryset(
    given: Mapping[str, Any],
    *,
    voter: eligibility.Voter,
    now: datetime,
    status: str,
    scope: str,
    has_category: bool,
) -> QuerySet[Any]:
    return (
        selectors.poll_list(
            voter=voter,
            now=now,
            status=status,
            scope=scope,
            category=given["category"] if has_category else None,
        )
        .annotate(matching=Window(Count("*")))
        .values_list(*_COLUMNS)
    )


def _rows(
    *,
    voter: eligibility.Voter,
    status: str,
    scope: str,
    category: str | None,
    limit: int,
    offset: int,
) -> list[_Row]:
    citizen = voter_sql.template(voter, with_key=True)
    now = timezone.now()
    placeholders = {**citizen.placeholders, "now": db_datetime(_NOW)}
    values = {**citizen.values, "now": db_datetime(now)}
    if category is not None:
        placeholders["category"], values["category"] = _CATEGORY, category

    def build(given: Mapping[str, Any]) -> QuerySet[Any]:
        # The ORM takes the datetime itself; the parameters hold it adapted (SQLite: as text).
        return _queryset(
            given,
            voter=citizen.voter(given),
            now=_NOW if given is placeholders else now,
            status=status,
            scope=scope,
            has_category=category is not None,
        )

    sql, params = _TEMPLATES.sql(
        shape=(*citizen.shape, status, scope, category is not None),
        build=build,
        placeholders=placeholders,
        values=values,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset])
        return [
            _Row(
                poll_id=row[0],
                stamp=str(row[1]),
                in_audience=bool(row[2]),
                has_voted=bool(row[3]),
                participants=int(row[4]),
                matching=int(row[5]),
            )
            for row in cursor.fetchall()
        ]


def page(
    *,
    request: Request,
    voter: eligibility.Voter,
    page: PageRequest,
    status: str,
    scope: str,
    category: str | None,
) -> dict[str, Any]:
    """One page of the list, in the body ``core.pagination.Pagination`` answers with."""
    query = partial(_rows, voter=voter, status=status, scope=scope, category=category)
    number = page.number
    if number is None:  # the last page: its number needs the count first
        first = query(limit=1, offset=0)
        number = last_page(count=first[0].matching if first else 0, size=page.size)
    rows = query(limit=page.size, offset=(number - 1) * page.size)
    # Past the end, the window counted nothing: the page cannot exist, unless it is the first.
    count = rows[0].matching if rows else 0
    cards = poll_cards.list_cards(stamps={row.poll_id: row.stamp for row in rows}, request=request)
    results = []
    for row in rows:
        card = cards[row.poll_id]
        results.append(
            {
                "id": card["id"],
                "title": card["title"],
                "category": card["category"],
                "cover_image": card["cover_image"],
                "status": status,
                "opens_at": card["opens_at"],
                "closes_at": card["closes_at"],
                "eligible": row.in_audience and status == selectors.Status.OPEN,
                "has_voted": row.has_voted,
                "participants": row.participants,
            }
        )
    return page_body(request, number=number, size=page.size, count=count, results=results)
