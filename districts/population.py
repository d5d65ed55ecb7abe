"""The population tables results are weighted to: importing them (idempotently) and reading them.

The shipped table is the Ministry of the Interior and Safety's registered population of Seoul's 25
gu at the end of June 2026 (see ``SHIPPED_SOURCE``), reshaped into the layout of Seoul's open-data
table; ``import_population`` loads it or any newer table in the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import transaction

from districts.models import District, PopulationCell, PopulationTable
from districts.population_files import PopulationFileError, read_population_file

SHIPPED_FILE = Path(__file__).resolve().parent / "data" / "population" / "seoul-2026-06.tsv"
SHIPPED_SOURCE = (
    "행정안전부 주민등록 인구통계 「연령별 인구현황」(월간, 2026년 6월 말 기준, 서울특별시 25개 "
    "자치구), jumin.mois.go.kr — 1세 단위 표를 5세 단위로 합산하여 서울 열린데이터광장 "
    "「주민등록인구(연령별)」 표의 형식으로 옮김. / Ministry of the Interior and Safety, "
    "registered population by age (monthly, end of June 2026, Seoul's 25 gu), summed into "
    "5-year bands in the layout of Seoul Open Data's registered-population table."
)


@dataclass(frozen=True, slots=True)
class PopulationImport:
    table: PopulationTable
    created: bool
    changed_cells: int

    def __str__(self) -> str:
        verb = "created" if self.created else "updated"
        return (
            f"population table {self.table.reference_date:%Y-%m-%d} {verb}: "
            f"{self.changed_cells} cells written"
        )


def import_population(
    *, path: Path, source: str, is_demo: bool = False, reference_date: date | None = None
) -> PopulationImport:
    """Create or replace the table of ``path``'s reference date; nothing is written on any error.

    Running it again with the same file writes nothing (``changed_cells`` 0), so it is safe in a
    deployment's set-up script.
    """
    parsed = read_population_file(path)
    gus = {
        district.name_ko: district
        for district in District.objects.filter(level=District.Level.GU, is_active=True)
    }
    unknown = [name for name in parsed.gu_names if name not in gus]
    if unknown:
        raise PopulationFileError(f"no active gu named {', '.join(unknown)}")
    wanted = {
        (gus[name].pk, sex, age): population
        for (name, sex, age), population in parsed.cells.items()
    }
    with transaction.atomic():
        table, created = PopulationTable.objects.select_for_update().get_or_create(
            reference_date=reference_date or parsed.period_end,
            defaults={"source": source, "is_demo": is_demo},
        )
        have = {
            (cell.district_id, cell.sex, cell.age_from): cell
            for cell in PopulationCell.objects.filter(table=table)
        }
        stale = [cell.pk for key, cell in have.items() if key not in wanted]
        changed = [
            PopulationCell(
                table=table, district_id=district, sex=sex, age_from=age, population=population
            )
            for (district, sex, age), population in wanted.items()
            if (district, sex, age) not in have
            or have[(district, sex, age)].population != population
        ]
        PopulationCell.objects.filter(pk__in=stale).delete()
        PopulationCell.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["table", "district", "sex", "age_from"],
            update_fields=["population"],
        )
        if not created and (table.source, table.is_demo) != (source, is_demo):
            table.source, table.is_demo = source, is_demo
            table.save(update_fields=["source", "is_demo", "imported_at"])
        elif changed or stale:
            table.save(update_fields=["imported_at"])
    return PopulationImport(table=table, created=created, changed_cells=len(changed) + len(stale))
