"""Population tables: the figures results are weighted to must be exactly the published ones.

The adversary is a mistyped or truncated file (or a wrong one): the importer must refuse it whole,
with a message that says where, and never leave half a table.
"""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from districts.models import District, PopulationCell, PopulationTable
from districts.population import SHIPPED_FILE, import_population
from districts.population_files import PopulationFileError, band_headers, read_population_file
from tests.factories import OfficialFactory

pytestmark = pytest.mark.django_db

SEOUL_TOTAL_2026_06 = 9_289_813  # 행정안전부, end of June 2026: 4,471,801 men, 4,818,012 women


def _file(tmp_path: Path, rows: list[list[object]]) -> Path:
    header = ["기간", "자치구", "구분", "합계", *band_headers()]
    lines = ["\t".join(header)] + ["\t".join(str(cell) for cell in row) for row in rows]
    path = tmp_path / "population.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row(gu: str, kind: str, bands: list[int], period: str = "2026.09") -> list[object]:
    return [period, gu, kind, sum(bands), *bands]


def _gu_rows(gu: str, male: list[int], female: list[int]) -> list[list[object]]:
    both = [m + f for m, f in zip(male, female, strict=True)]
    return [_row(gu, "계", both), _row(gu, "남자", male), _row(gu, "여자", female)]


BANDS = len(band_headers())
MALE = [10 + i for i in range(BANDS)]
FEMALE = [20 + i for i in range(BANDS)]


def test_the_shipped_table_is_the_published_one_to_the_person():
    report = import_population(path=SHIPPED_FILE, source="test")
    table = report.table
    cells = PopulationCell.objects.filter(table=table)
    assert str(table.reference_date) == "2026-06-30"
    assert cells.count() == 25 * 2 * 21  # 25 gu × 2 sexes × 21 bands (0–4 … 95–99, 100+)
    assert sum(cells.values_list("population", flat=True)) == SEOUL_TOTAL_2026_06
    men = sum(cells.filter(sex="male").values_list("population", flat=True))
    assert men == 4_471_801
    gus = set(cells.values_list("district__name_ko", flat=True))
    assert gus == set(District.objects.filter(level="gu").values_list("name_ko", flat=True))
    jongno_babies = cells.get(district__name_ko="종로구", sex="male", age_from=0).population
    assert jongno_babies == 1151


def test_importing_the_same_file_again_writes_nothing(tmp_path):
    path = _file(tmp_path, _gu_rows("종로구", MALE, FEMALE))
    first = import_population(path=path, source="test")
    again = import_population(path=path, source="test")
    assert (first.created, first.changed_cells) == (True, 2 * BANDS)
    assert (again.created, again.changed_cells) == (False, 0)
    assert PopulationTable.objects.count() == 1


def test_a_corrected_file_replaces_the_cells_of_its_date(tmp_path):
    import_population(path=_file(tmp_path, _gu_rows("종로구", MALE, FEMALE)), source="test")
    corrected = [*MALE[:-1], MALE[-1] + 7]
    report = import_population(
        path=_file(tmp_path, _gu_rows("종로구", corrected, FEMALE)), source="test"
    )
    assert report.changed_cells == 1
    cell = PopulationCell.objects.get(district__name_ko="종로구", sex="male", age_from=100)
    assert cell.population == MALE[-1] + 7


def test_a_row_whose_bands_do_not_add_up_is_refused_and_nothing_is_written(tmp_path):
    rows = _gu_rows("종로구", MALE, FEMALE)
    rows[1][3] = int(rows[1][3]) + 1  # the men's 합계 one too many
    with pytest.raises(PopulationFileError, match=r"line 3 \(종로구 남자\).*합계"):
        import_population(path=_file(tmp_path, rows), source="test")
    assert not PopulationTable.objects.exists()


def test_both_sexes_must_add_up_to_the_total_row(tmp_path):
    rows = _gu_rows("종로구", MALE, FEMALE)
    rows[0] = _row("종로구", "계", [m + f + 1 for m, f in zip(MALE, FEMALE, strict=True)])
    with pytest.raises(PopulationFileError, match="계 is not 남자 \\+ 여자"):
        read_population_file(_file(tmp_path, rows))


def test_the_city_row_must_be_the_sum_of_its_gu(tmp_path):
    rows = _gu_rows("종로구", MALE, FEMALE) + _gu_rows("중구", MALE, FEMALE)
    rows.append(_row("합계", "남자", [2 * m for m in MALE]))
    rows.append(_row("합계", "여자", [2 * f + (i == 3) for i, f in enumerate(FEMALE)]))
    with pytest.raises(PopulationFileError, match="합계 여자: not the sum"):
        read_population_file(_file(tmp_path, rows))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (_gu_rows("종로구", MALE, FEMALE)[:2], "a row for each of 남자 and 여자"),
        ([*_gu_rows("종로구", MALE, FEMALE), _row("종로구", "남자", MALE)], "a second 종로구 남자"),
        ([_row("종로구", "남녀", MALE)], "구분 '남녀'"),
        ([["2026.13", "종로구", "남자", sum(MALE), *MALE]], "기간 '2026.13'"),
        ([["2026.06", "종로구", "남자", "many", *MALE]], "'many' is not a whole number"),
        (
            [*_gu_rows("종로구", MALE, FEMALE)[1:], _row("중구", "남자", MALE, period="2026.03")],
            "mixes periods",
        ),
    ],
)
def test_malformed_files_are_refused_with_where(tmp_path, rows, message):
    with pytest.raises(PopulationFileError, match=message):
        read_population_file(_file(tmp_path, rows))


def test_an_unknown_gu_is_refused_by_name(tmp_path):
    path = _file(tmp_path, _gu_rows("없는구", MALE, FEMALE))
    with pytest.raises(PopulationFileError, match="no active gu named 없는구"):
        import_population(path=path, source="test")


def test_a_file_in_another_layout_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("year,gu,sex,age,population\n2026,종로구,M,0,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="expected layout"):
        call_command("import_population", str(path), "--source", "x")


def test_the_command_needs_a_source_for_any_file_but_the_shipped_one(tmp_path):
    path = _file(tmp_path, _gu_rows("종로구", MALE, FEMALE))
    with pytest.raises(CommandError, match="--source"):
        call_command("import_population", str(path))
    call_command("import_population", str(path), "--source", "구청 자료", "--demo")
    table = PopulationTable.objects.get()
    assert (table.source, table.is_demo) == ("구청 자료", True)
    assert "demo" in str(table) or "데모" in str(table)


def test_officials_read_the_table_and_its_source_but_cannot_type_figures(client):
    import_population(path=SHIPPED_FILE, source="행정안전부 test")
    client.force_login(OfficialFactory(is_superuser=True))
    listing = client.get("/admin/districts/populationtable/")
    assert listing.status_code == 200
    assert "9,289,813" in listing.text
    assert "행정안전부 test" in listing.text
    assert client.get("/admin/districts/populationtable/add/").status_code == 403
