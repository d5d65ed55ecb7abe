"""Querysets compiled once per shape, run many times with each request's values.

Compiling a queryset with subqueries (``Exists``, ``Subquery``, windows) costs the ORM more CPU
than PostgreSQL spends running it, and on a hot read the SQL text differs only with the *shape*
of the request (how many residence codes, which filters are present), never with its values. So
a template is compiled once per shape and process, from placeholder values no real request can
have, and each request substitutes its own values for the placeholders in the parameter list.
The queryset stays the one statement of the query; the SQL is the ORM's own.

Placeholders must be valid for their fields (Django compiles an out-of-range comparison to a
constant), distinct from every constant the query holds (0, 1, ``True``), and compared after the
database adaptation Django applies (``db_datetime``): SQLite receives datetimes as text.
Where a placeholder was compiled away, the shape cannot be reused safely: ``sql`` then compiles
the request's own queryset, every time, rather than run a template that ignores a value.
"""

from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime


def db_datetime(value: datetime) -> Any:
    """A datetime as the database adapter receives it (PostgreSQL: itself; SQLite: text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _is_placeholder_candidate(value: Any) -> bool:
    # ``True == 1``: a boolean constant must never be taken for an integer placeholder.
    return not isinstance(value, bool) and isinstance(value, Hashable)


class Templates:
    """Compiled SQL of one query, per shape (a process-wide cache: shapes are few)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._compiled: dict[Hashable, tuple[str, list[Any]] | None] = {}

    def sql(
        self,
        *,
        shape: Hashable,
        build: Callable[[Mapping[str, Any]], QuerySet[Any]],
        placeholders: Mapping[str, Any],
        values: Mapping[str, Any],
    ) -> tuple[str, list[Any]]:
        """SQL and parameters of ``build(values)``, compiled once per ``shape`` as
        ``build(placeholders)``. ``placeholders`` and ``values`` share their keys; a value that
        the database adapts (a datetime) is passed adapted, as ``db_datetime`` gives it."""
        if shape not in self._compiled:
            sql, params = build(placeholders).query.sql_with_params()
            present = {p for p in params if _is_placeholder_candidate(p)}
            usable = all(_is_placeholder_candidate(p) for p in placeholders.values()) and all(
                p in present for p in placeholders.values()
            )
            self._compiled[shape] = (sql, list(params)) if usable else None
        template = self._compiled[shape]
        if template is None:
            fresh_sql, fresh_params = build(values).query.sql_with_params()
            return fresh_sql, list(fresh_params)
        by_placeholder = {placeholders[name]: values[name] for name in placeholders}
        return template[0], [
            by_placeholder.get(p, p) if _is_placeholder_candidate(p) else p for p in template[1]
        ]

    def __len__(self) -> int:
        return len(self._compiled)

    def clear(self) -> None:
        self._compiled.clear()


def from_db_datetime(value: Any) -> datetime | None:
    """A datetime column read by a raw cursor, aware (SQLite hands back naive UTC or text)."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = parse_datetime(value)
    return None if value is None else value.replace(tzinfo=UTC)
