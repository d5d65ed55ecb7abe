"""One poll for a citizen: one query for what is theirs, the poll's card from the cache.

What differs from citizen to citizen — every audience rule's verdict, whether they voted — and
what moves with the count (participants) is one statement (``selectors.poll_detail``), compiled
once per shape (core/sql_templates.py, voting/voter_sql.py). It also reads the poll's
``updated_at``, under which the rest of the page — description, options, images, audience,
outcome — is cached as the poll's card (voting/poll_cards.py). A warm detail is one query and
one cache round trip.
"""

from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.http import Http404
from rest_framework.request import Request

from accounts.models import User
from core.sql_templates import Templates, from_db_datetime
from voting import eligibility, poll_cards, selectors, voter_sql
from voting.models import Poll
from voting.serializers import PollDetailSerializer

_TEMPLATES = Templates("poll detail")
_POLL = 9_007_199_254_000_003  # a big-integer key, unlike the citizen's placeholders
_RULES = [f"rule_{reason}" for reason in eligibility.REASONS]
_COLUMNS = (*_RULES, "has_voted", "participants", *selectors.DETAIL_COLUMNS)
_DATETIMES = ("updated_at", "opens_at", "closes_at", "results_published_at")


def _row(*, voter: eligibility.Voter, poll_id: int) -> dict[str, Any] | None:
    citizen = voter_sql.template(voter, with_key=True)

    def build(given: Mapping[str, Any]):
        return selectors.poll_detail(voter=citizen.voter(given), poll_id=given["poll"]).values(
            *_COLUMNS
        )

    sql, params = _TEMPLATES.sql(
        shape=citizen.shape,
        build=build,
        placeholders={**citizen.placeholders, "poll": _POLL},
        values={**citizen.values, "poll": poll_id},
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    # As the ORM would give them: SQLite answers 0/1 for booleans and naive UTC datetimes.
    values = dict(zip(_COLUMNS, row, strict=True))
    for column in (*_RULES, "has_voted"):
        values[column] = bool(values[column])
    for column in _DATETIMES:
        values[column] = from_db_datetime(values[column])
    return values


def detail(*, request: Request, user: User, poll_id: int) -> dict[str, Any]:
    """The detail page's body for ``user``; a draft or a missing poll is a 404."""
    row = _row(voter=eligibility.Voter.of(user), poll_id=poll_id)
    if row is None:
        raise Http404
    card = poll_cards.detail_card(
        poll_id=poll_id, stamp=row["updated_at"].isoformat(), request=request
    )
    if card is None:
        raise Http404
    # The poll as far as its status and its results' visibility need it, without loading it.
    poll = Poll(
        pk=poll_id,
        published=True,
        opens_at=row["opens_at"],
        closes_at=row["closes_at"],
        results_visibility=row["results_visibility"],
        results_published_at=row["results_published_at"],
    )
    refusal = eligibility.refusal_from(
        {rule: row[rule] for rule in _RULES}, upcoming=poll.status == Poll.Status.UPCOMING
    )
    own = {
        "status": poll.status,
        "eligible": refusal is None,
        "ineligible_reason": refusal,
        "has_voted": row["has_voted"],
        "results_available": selectors.results_visible_to(poll=poll, user=user),
        "participants": int(row["participants"]),
    }
    return {
        field: own[field] if field in own else card[field] for field in PollDetailSerializer.FIELDS
    }
