"""Reading a population table in the layout of Seoul's open-data table of registered residents.

The layout (서울 열린데이터광장, 주민등록인구 by age, one file per period) is one row per area and
sex, tab- or comma-separated, UTF-8 (with or without a byte-order mark):

    기간     자치구  구분  합계     0~4세  5~9세  …  95~99세  100세 이상
    2026.06  합계    계    9289813  205692 …
    2026.06  종로구  남자  …

``구분`` is 계 (both), 남자 or 여자; the row 합계 is the whole city. Numbers may carry thousands
separators. Every figure is checked before anything is written, because a weighting that rests on a
mistyped figure is wrong without anyone seeing it: each row's bands add up to its 합계, 계 = 남자 +
여자 in every band, and the city row (when present) is the sum of its gu.
"""

from __future__ import annotations

import csv
import io
import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from districts.models import AGE_BANDS, PopulationCell

CITY_ROW = "합계"
SEXES: dict[str, str] = {"남자": PopulationCell.Sex.MALE, "여자": PopulationCell.Sex.FEMALE}
BOTH = "계"
_PERIOD = re.compile(r"^(\d{4})[.\-/ ]?(\d{1,2})")


class PopulationFileError(ValueError):
    """The file is not a population table in the expected layout, or its figures disagree."""


@dataclass(frozen=True, slots=True)
class PopulationFile:
    period_end: date  # the last day of the file's period (기간): the table's reference date
    # (gu name as written, sex, age band's first year) → residents
    cells: dict[tuple[str, str, int], int]

    @property
    def gu_names(self) -> list[str]:
        return sorted({gu for gu, _sex, _age in self.cells})


def band_headers() -> list[str]:
    return [f"{age}~{age + 4}세" for age in AGE_BANDS[:-1]] + [f"{AGE_BANDS[-1]}세 이상"]


def _number(text: str, *, where: str) -> int:
    cleaned = text.strip().replace(",", "")
    if not cleaned.isdigit():
        raise PopulationFileError(f"{where}: {text!r} is not a whole number")
    return int(cleaned)


def _period_end(text: str) -> date:
    match = _PERIOD.match(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise PopulationFileError(f"기간 {text!r} is not a year and month such as 2026.06")
    year, month = int(match[1]), int(match[2])
    return date(year, month, monthrange(year, month)[1])


def read_population_file(path: Path) -> PopulationFile:
    text = path.read_text(encoding="utf-8-sig")
    dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
    rows = [row for row in csv.reader(io.StringIO(text), dialect=dialect) if any(row)]
    if not rows:
        raise PopulationFileError("the file is empty")
    header = [cell.strip() for cell in rows[0]]
    expected = ["기간", "자치구", "구분", "합계", *band_headers()]
    if header != expected:
        raise PopulationFileError(
            f"the header is {header}, not the expected layout {expected} (see the module's doc)"
        )
    periods: set[date] = set()
    # (area, 구분) → [합계, band…]
    figures: dict[tuple[str, str], list[int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(expected):
            raise PopulationFileError(f"line {line}: {len(row)} columns, expected {len(expected)}")
        periods.add(_period_end(row[0]))
        area, kind = row[1].strip(), row[2].strip()
        if kind not in (BOTH, *SEXES):
            raise PopulationFileError(f"line {line}: 구분 {kind!r} is not 계, 남자 or 여자")
        if (area, kind) in figures:
            raise PopulationFileError(f"line {line}: a second {area} {kind} row")
        numbers = [_number(cell, where=f"line {line}") for cell in row[3:]]
        if sum(numbers[1:]) != numbers[0]:
            raise PopulationFileError(
                f"line {line} ({area} {kind}): the age bands add up to {sum(numbers[1:])}, "
                f"not its 합계 {numbers[0]}"
            )
        figures[(area, kind)] = numbers
    if len(periods) != 1:
        raise PopulationFileError(f"the file mixes periods: {sorted(periods)}")
    areas = {area for area, _kind in figures}
    for area in sorted(areas):
        if any((area, kind) not in figures for kind in SEXES):
            raise PopulationFileError(f"{area}: a row for each of 남자 and 여자 is needed")
        male, female = figures[(area, "남자")], figures[(area, "여자")]
        both = figures.get((area, BOTH))
        if both is not None and both != [m + f for m, f in zip(male, female, strict=True)]:
            raise PopulationFileError(f"{area}: 계 is not 남자 + 여자 in every column")
    gus = sorted(areas - {CITY_ROW})
    if not gus:
        raise PopulationFileError("the file has no gu rows")
    for kind in (BOTH, *SEXES):
        city = figures.get((CITY_ROW, kind))
        if city is None or any((gu, kind) not in figures for gu in gus):
            continue
        summed = [sum(column) for column in zip(*(figures[(gu, kind)] for gu in gus), strict=True)]
        if summed != city:
            raise PopulationFileError(f"{CITY_ROW} {kind}: not the sum of the gu rows")
    cells = {
        (gu, sex, age): figures[(gu, kind)][1 + index]
        for gu in gus
        for kind, sex in SEXES.items()
        for index, age in enumerate(AGE_BANDS)
    }
    return PopulationFile(period_end=periods.pop(), cells=cells)
