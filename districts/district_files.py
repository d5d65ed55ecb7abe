"""Reading and checking administrative-area files; nothing here writes (``districts.loaders``
imports what is read).

The file format (UTF-8, tab-separated, one header line)::

    code  level  parent_code  name_ko  name_en

and, for retired codes::

    code  name_ko  name_en  parent_code  retired_on  replaced_by

Codes follow the Ministry of the Interior and Safety's 10-digit administrative codes: 2 digits for
the city, 3 for the gu, 3 for the dong, 2 (always 00 here) for the ri. So a gu's code starts with
its city's first 2 digits and a dong's with its gu's first 5; the reader checks that.

Every function takes the model as ``model`` (default: :class:`districts.models.District`) so the
data migration can pass its historical model, which has neither ``save()`` nor the queryset
methods: the loaders therefore use only plain managers and compute ``search_key`` themselves.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

DISTRICT_COLUMNS = ("code", "level", "parent_code", "name_ko", "name_en")
RETIRED_COLUMNS = ("code", "name_ko", "name_en", "parent_code", "retired_on", "replaced_by")

CITY, GU, DONG = "city", "gu", "dong"
# Depth in the tree; also the order rows are written in, so parents exist before children.
LEVEL_DEPTH = {CITY: 0, GU: 1, DONG: 2}
PARENT_LEVEL = {GU: CITY, DONG: GU}
# How many leading digits a child shares with its parent, by the child's level.
SHARED_PREFIX = {GU: 2, DONG: 5}

# ASCII only: ``\d`` would also accept other scripts' digits.
_CODE = re.compile(r"[0-9]{10}")
# Column limits of the District model, checked here so a long name fails with a line number
# instead of a database error (or silent truncation on SQLite).
_MAX_NAME_KO = 50
_MAX_NAME_EN = 100


class DistrictFileError(ValueError):
    """A district or retired-codes file is malformed or inconsistent."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.line:
            where.append(f"line {self.line}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True)
class DistrictRow:
    code: str
    level: str
    parent_code: str | None
    name_ko: str
    name_en: str
    # Where the row came from, for error messages; 0 when built in code.
    line: int = 0
    path: str | None = None


@dataclass(frozen=True, slots=True)
class RetiredRow:
    code: str
    name_ko: str
    name_en: str
    parent_code: str
    retired_on: datetime.date
    replaced_by: tuple[str, ...]
    line: int = 0
    path: str | None = None


def default_model() -> Any:
    from districts.models import District

    return District


# --- Reading --------------------------------------------------------------------------------------


def _read_lines(path: str | Path, columns: Sequence[str]) -> list[tuple[int, list[str]]]:
    """The data lines of a TSV file with the given header, as (line number, stripped fields)."""
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DistrictFileError("file not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise DistrictFileError(f"not UTF-8 ({exc.reason})", path=path) from None
    except OSError as exc:
        raise DistrictFileError(f"cannot read the file ({exc.strerror})", path=path) from None

    lines = text.splitlines()
    if not lines:
        raise DistrictFileError("the file is empty", path=path)
    header = [field.strip() for field in lines[0].split("\t")]
    if header != list(columns):
        raise DistrictFileError(
            f"the header must be {' '.join(columns)!r} (tab-separated), got {' '.join(header)!r}",
            path=path,
            line=1,
        )
    result = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise DistrictFileError(
                f"expected {len(columns)} tab-separated columns, got {len(fields)}",
                path=path,
                line=number,
            )
        # NFC: files saved on macOS may carry decomposed Hangul, which would never match what
        # people type.
        result.append((number, [unicodedata.normalize("NFC", field.strip()) for field in fields]))
    return result


def _check_code(value: str, what: str, *, path: str | Path, line: int) -> None:
    if not _CODE.fullmatch(value):
        raise DistrictFileError(
            f"{what} {value!r} is not a 10-digit administrative code", path=path, line=line
        )


def _check_names(name_ko: str, name_en: str, *, path: str | Path, line: int) -> None:
    if not name_ko:
        raise DistrictFileError("the Korean name is empty", path=path, line=line)
    if not name_en:
        raise DistrictFileError("the English name is empty", path=path, line=line)
    if len(name_ko) > _MAX_NAME_KO:
        raise DistrictFileError(
            f"the Korean name is longer than {_MAX_NAME_KO} characters", path=path, line=line
        )
    if len(name_en) > _MAX_NAME_EN:
        raise DistrictFileError(
            f"the English name is longer than {_MAX_NAME_EN} characters", path=path, line=line
        )


def read_district_file(
    path: str | Path, *, model: Any = None, using: str = DEFAULT_DB_ALIAS
) -> list[DistrictRow]:
    """Parse and validate a district file; raise :class:`DistrictFileError` naming the line.

    A row's parent must be in the file or already in the database (so a later file may add the
    dongs of a city loaded before). Nothing is written.
    """
    rows: list[DistrictRow] = []
    seen: dict[str, int] = {}
    for number, (code, level, parent_code, name_ko, name_en) in _read_lines(path, DISTRICT_COLUMNS):
        _check_code(code, "code", path=path, line=number)
        if code in seen:
            raise DistrictFileError(
                f"code {code} appears twice (first on line {seen[code]})", path=path, line=number
            )
        seen[code] = number
        if level not in LEVEL_DEPTH:
            raise DistrictFileError(
                f"unknown level {level!r} (expected one of: {', '.join(LEVEL_DEPTH)})",
                path=path,
                line=number,
            )
        if level == CITY:
            if parent_code:
                raise DistrictFileError("a city has no parent", path=path, line=number)
        else:
            if not parent_code:
                raise DistrictFileError(f"a {level} needs a parent code", path=path, line=number)
            _check_code(parent_code, "parent code", path=path, line=number)
            if parent_code == code:
                raise DistrictFileError(
                    "a district cannot be its own parent", path=path, line=number
                )
        _check_names(name_ko, name_en, path=path, line=number)
        rows.append(
            DistrictRow(
                code=code,
                level=level,
                parent_code=parent_code or None,
                name_ko=name_ko,
                name_en=name_en,
                line=number,
                path=str(path),
            )
        )
    if not rows:
        raise DistrictFileError("the file has no districts", path=path)
    resolve_references(rows, (), model=model or default_model(), using=using)
    return rows


def read_retired_file(path: str | Path) -> list[RetiredRow]:
    """Parse a retired-codes file. Its references are checked by :func:`import_districts`."""
    rows: list[RetiredRow] = []
    seen: dict[str, int] = {}
    for number, (code, name_ko, name_en, parent_code, retired_on, replaced_by) in _read_lines(
        path, RETIRED_COLUMNS
    ):
        _check_code(code, "code", path=path, line=number)
        if code in seen:
            raise DistrictFileError(
                f"code {code} appears twice (first on line {seen[code]})", path=path, line=number
            )
        seen[code] = number
        _check_names(name_ko, name_en, path=path, line=number)
        _check_code(parent_code, "parent code", path=path, line=number)
        try:
            retired_date = datetime.date.fromisoformat(retired_on)
        except ValueError:
            raise DistrictFileError(
                f"retired_on {retired_on!r} is not a date (YYYY-MM-DD)", path=path, line=number
            ) from None
        successors = tuple(part.strip() for part in replaced_by.split(",") if part.strip())
        for successor in successors:
            _check_code(successor, "replacement code", path=path, line=number)
            if successor == code:
                raise DistrictFileError("a code cannot replace itself", path=path, line=number)
        rows.append(
            RetiredRow(
                code=code,
                name_ko=name_ko,
                name_en=name_en,
                parent_code=parent_code,
                retired_on=retired_date,
                replaced_by=successors,
                line=number,
                path=str(path),
            )
        )
    return rows


# --- Checking references ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    level: str
    parent_code: str | None


def resolve_references(
    rows: Sequence[DistrictRow], retired: Sequence[RetiredRow], *, model: Any, using: str
) -> dict[str, Node]:
    """Check parents, levels, code prefixes and replacements; return every node involved.

    The result maps each code of the file (and its retired codes) and each parent or replacement
    found only in the database to its level and parent, with one query for the latter.
    """
    nodes: dict[str, Node] = {row.code: Node(row.level, row.parent_code) for row in rows}
    wanted = {row.parent_code for row in rows if row.parent_code}
    wanted |= {row.parent_code for row in retired}
    wanted |= {code for row in retired for code in row.replaced_by}
    # A gu taken from the database needs its own parent too, to know the city a file's dongs are in.
    outside = wanted - nodes.keys()
    if outside:
        for code, level, parent_code in (
            model._default_manager.db_manager(using)
            .filter(Q(code__in=outside) | Q(children__code__in=outside))
            .values_list("code", "level", "parent_id")
            .distinct()
        ):
            nodes.setdefault(code, Node(level, parent_code))

    for row in rows:
        if row.parent_code is None:
            continue
        parent = nodes.get(row.parent_code)
        where: dict[str, Any] = {"path": row.path, "line": row.line or None}
        if parent is None:
            raise DistrictFileError(
                f"parent {row.parent_code} of {row.code} is neither in the file "
                "nor in the database",
                **where,
            )
        _check_parent(row.code, row.level, row.parent_code, parent.level, where)

    file_codes = {row.code for row in rows}
    for gone in retired:
        where = {"path": gone.path, "line": gone.line or None}
        if gone.code in file_codes:
            raise DistrictFileError(
                f"retired code {gone.code} is also listed as a current district", **where
            )
        parent = nodes.get(gone.parent_code)
        if parent is None:
            raise DistrictFileError(
                f"parent {gone.parent_code} of retired code {gone.code} is unknown", **where
            )
        level = _child_level(parent.level)
        if level is None:
            raise DistrictFileError(
                f"parent {gone.parent_code} is a {parent.level}, which has no child level", **where
            )
        _check_parent(gone.code, level, gone.parent_code, parent.level, where)
        for successor in gone.replaced_by:
            if successor not in nodes:
                raise DistrictFileError(
                    f"replacement {successor} of retired code {gone.code} is unknown", **where
                )
        nodes[gone.code] = Node(level, gone.parent_code)
    return nodes


def _child_level(parent_level: str) -> str | None:
    for child, parent in PARENT_LEVEL.items():
        if parent == parent_level:
            return child
    return None


def _check_parent(code: str, level: str, parent_code: str, parent_level: str, where: dict) -> None:
    expected = PARENT_LEVEL.get(level)
    if parent_level != expected:
        raise DistrictFileError(
            f"the parent of a {level} must be a {expected}, but {parent_code} is a {parent_level}",
            **where,
        )
    shared = SHARED_PREFIX[level]
    if code[:shared] != parent_code[:shared]:
        raise DistrictFileError(
            f"{level} code {code} must start with the first {shared} digits of its parent "
            f"{parent_code}",
            **where,
        )
