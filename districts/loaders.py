"""Importing administrative-area files: upserting what ``districts.district_files`` read, and
loading the shipped Seoul file.

Every function takes the model as ``model`` (default: :class:`districts.models.District`) so the
data migration can pass its historical model, which has neither ``save()`` nor the queryset
methods: the loaders therefore use only plain managers and compute ``search_key`` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Q

from districts.district_files import (
    CITY,
    LEVEL_DEPTH,
    DistrictRow,
    Node,
    RetiredRow,
    default_model,
    read_district_file,
    read_retired_file,
    resolve_references,
)
from districts.models import district_search_key

DATA_DIR = Path(__file__).resolve().parent / "data"
SEOUL_FILE = DATA_DIR / "seoul-2025-07-01.tsv"
SEOUL_RETIRED_FILE = DATA_DIR / "retired-codes.tsv"


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)

    def __str__(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, deactivated {self.deactivated}"
        )


def _ancestors(code: str, nodes: dict[str, Node]) -> list[str]:
    result = []
    node = nodes.get(code)
    while node is not None and node.parent_code is not None:
        result.append(node.parent_code)
        node = nodes.get(node.parent_code)
    return result


def _city_of(code: str, nodes: dict[str, Node]) -> str | None:
    node = nodes.get(code)
    while node is not None and node.parent_code is not None:
        code = node.parent_code
        node = nodes.get(code)
    return code if node is not None and node.level == CITY else None


# --- Importing ------------------------------------------------------------------------------------

_FIELDS = ("level", "parent_id", "name_ko", "name_en", "search_key", "is_active")


def import_districts(
    rows: Sequence[DistrictRow],
    *,
    retired: Iterable[RetiredRow] | None = None,
    deactivate_missing: bool = True,
    model: Any = None,
    using: str = DEFAULT_DB_ALIAS,
) -> ImportReport:
    """Upsert ``rows`` (active) and ``retired`` (inactive) by code, in one transaction.

    With ``deactivate_missing``, the file is taken to describe its cities completely: districts
    in the database under the same city but absent from the file are marked inactive. Nothing
    is ever deleted, because polls, ballots and residences reference districts by code.
    Running the same import twice changes nothing the second time.
    """
    model = model or default_model()
    retired = list(retired or ())
    nodes = resolve_references(rows, retired, model=model, using=using)

    # code → the field values it should end up with
    desired: dict[str, dict[str, Any]] = {}
    for row in rows:
        desired[row.code] = _values(row.level, row.parent_code, row.name_ko, row.name_en, True)
    for gone in retired:
        level = nodes[gone.code].level
        desired[gone.code] = _values(level, gone.parent_code, gone.name_ko, gone.name_en, False)
    # The ancestors the file relies on stay as they are, even if the file does not list them:
    # an active dong under an inactive gu or city would be offered but unreachable.
    referenced = {ancestor for code in desired for ancestor in _ancestors(code, nodes)}

    manager = model._default_manager.db_manager(using)
    scope = Q(code__in=list(desired))
    cities = {city for code in desired if (city := _city_of(code, nodes))}
    if deactivate_missing and cities:
        scope |= Q(code__in=cities) | Q(parent_id__in=cities) | Q(parent__parent_id__in=cities)

    report = ImportReport()
    with transaction.atomic(using=using):
        existing = {obj.code: obj for obj in manager.filter(scope)}
        to_create = []
        to_update = []
        for code, values in desired.items():
            obj = existing.get(code)
            if obj is None:
                to_create.append(model(code=code, **values))
                report.created += 1
                continue
            changed = [field for field, value in values.items() if getattr(obj, field) != value]
            if not changed:
                report.unchanged += 1
                continue
            if obj.is_active and not values["is_active"]:
                report.deactivated += 1
            else:
                report.updated += 1
            for field in changed:
                setattr(obj, field, values[field])
            to_update.append(obj)
        if deactivate_missing:
            for code, obj in existing.items():
                if code not in desired and code not in referenced and obj.is_active:
                    obj.is_active = False
                    to_update.append(obj)
                    report.deactivated += 1

        to_create.sort(key=lambda obj: (LEVEL_DEPTH[obj.level], obj.code))
        if to_create:
            manager.bulk_create(to_create, batch_size=500)
        if to_update:
            to_update.sort(key=lambda obj: (LEVEL_DEPTH[obj.level], obj.code))
            manager.bulk_update(to_update, _FIELDS, batch_size=500)
    return report


def _values(level: str, parent_code: str | None, name_ko: str, name_en: str, active: bool) -> dict:
    return {
        "level": level,
        "parent_id": parent_code,
        "name_ko": name_ko,
        "name_en": name_en,
        # bulk_create/bulk_update skip save(), which is where search_key is normally computed.
        "search_key": district_search_key(name_ko, name_en),
        "is_active": active,
    }


def load_seoul(*, model: Any = None, using: str = DEFAULT_DB_ALIAS) -> ImportReport:
    """Load the shipped Seoul file and its retired codes (data migration, `load_districts`)."""
    rows = read_district_file(SEOUL_FILE, model=model, using=using)
    retired = read_retired_file(SEOUL_RETIRED_FILE)
    return import_districts(rows, retired=retired, model=model, using=using)
