import datetime
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from districts.district_files import (
    DistrictFileError,
    DistrictRow,
    RetiredRow,
    read_district_file,
    read_retired_file,
)
from districts.loaders import SEOUL_FILE, import_districts, load_seoul
from districts.models import District

pytestmark = pytest.mark.django_db

HEADER = "code\tlevel\tparent_code\tname_ko\tname_en\n"


def _write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _snapshot() -> list[tuple]:
    return list(
        District.objects.order_by("code").values_list(
            "code", "level", "parent_id", "name_ko", "name_en", "search_key", "is_active"
        )
    )


def test_the_migration_loaded_seoul():
    assert District.objects.filter(level="city").count() == 1
    assert District.objects.filter(level="gu", is_active=True).count() == 25
    assert District.objects.filter(level="dong", is_active=True).count() == 427
    seoul = District.objects.get(code="1100000000")
    assert (seoul.name_ko, seoul.name_en, seoul.parent_id) == ("서울특별시", "Seoul", None)
    jongno = District.objects.get(code="1111000000")
    assert jongno.parent_id == seoul.code
    assert jongno.children.filter(level="dong").count() == 17


def test_retired_code_exists_inactive_under_its_gu():
    yongsin = District.objects.get(code="1123053600")
    assert yongsin.is_active is False
    assert (yongsin.level, yongsin.parent_id, yongsin.name_ko) == ("dong", "1123000000", "용신동")
    # Its successors are the current ones.
    assert (
        District.objects.filter(code__in=["1123051500", "1123053300"], is_active=True).count() == 2
    )


def test_bulk_loaded_search_key_equals_what_save_computes():
    loaded = {code: key for code, key in District.objects.values_list("code", "search_key")}
    for district in District.objects.all():
        district.save()
    assert dict(District.objects.values_list("code", "search_key")) == loaded
    assert loaded["1111061500"] == "종로1234가동 jongno1234ilisamsagadong"


def test_load_districts_twice_changes_nothing(capsys):
    before = _snapshot()
    call_command("load_districts")
    call_command("load_districts")
    out = capsys.readouterr().out.strip().splitlines()
    assert (
        out
        == [
            "seoul-2025-07-01.tsv: created 0, updated 0, unchanged 454, deactivated 0",
        ]
        * 2
    )
    assert _snapshot() == before


def test_a_whole_city_is_written_in_a_few_queries_and_a_second_run_changes_nothing(tmp_path):
    # Seoul's tree again under another city code: 453 new rows, without deleting anything
    # (other apps' rows may reference Seoul's districts).
    lines = SEOUL_FILE.read_text(encoding="utf-8").splitlines()[1:]
    path = _write(
        tmp_path / "copy.tsv",
        [
            "\t".join(f"99{v[2:]}" if v[:2] == "11" else v for v in line.split("\t"))
            for line in lines
        ],
    )
    rows = read_district_file(path)
    with CaptureQueriesContext(connection) as queries:
        first = import_districts(rows)
    assert (first.created, first.updated, first.unchanged, first.deactivated) == (453, 0, 0, 0)
    # Set-based: one read and batched inserts, not one query per row.
    statements = Counter(q["sql"].split()[0] for q in queries.captured_queries)
    assert statements["SELECT"] == 1
    # One INSERT on PostgreSQL; SQLite splits at its bound-parameter limit (~140 rows each).
    assert 1 <= statements["INSERT"] <= 4
    assert statements["UPDATE"] == 0
    after_first = _snapshot()
    with CaptureQueriesContext(connection) as queries:
        second = import_districts(rows)
    assert (second.created, second.updated, second.unchanged, second.deactivated) == (0, 0, 453, 0)
    statements = Counter(q["sql"].split()[0] for q in queries.captured_queries)
    assert (statements["SELECT"], statements["INSERT"], statements["UPDATE"]) == (1, 0, 0)
    assert _snapshot() == after_first
    assert District.objects.get(code="9911061500").search_key == (
        District.objects.get(code="1111061500").search_key
    )


def _modified_seoul(tmp_path: Path) -> Path:
    lines = SEOUL_FILE.read_text(encoding="utf-8").splitlines()[1:]
    out = []
    for line in lines:
        code = line.split("\t")[0]
        if code == "1111053000":  # 사직동: renamed
            line = "1111053000\tdong\t1111000000\t사직새동\tSajiksae-dong"
        elif code == "1111054000":  # 삼청동: removed
            continue
        out.append(line)
    out.append("1111099900\tdong\t1111000000\t새종로동\tSaejongno-dong")  # new
    return _write(tmp_path / "seoul-next.tsv", out)


def test_import_a_revised_file_renames_deactivates_and_creates(tmp_path, capsys):
    path = _modified_seoul(tmp_path)
    call_command("import_districts", str(path))
    assert capsys.readouterr().out.strip() == (
        "seoul-next.tsv: created 1, updated 1, unchanged 451, deactivated 1"
    )

    renamed = District.objects.get(code="1111053000")
    assert (renamed.name_ko, renamed.name_en, renamed.is_active) == (
        "사직새동",
        "Sajiksae-dong",
        True,
    )
    assert renamed.search_key == "사직새동 sajiksaedong"
    removed = District.objects.get(code="1111054000")
    assert removed.is_active is False  # kept, not deleted
    new = District.objects.get(code="1111099900")
    assert (new.level, new.parent_id, new.is_active) == ("dong", "1111000000", True)
    # The retired code stays retired; it was inactive already.
    assert District.objects.get(code="1123053600").is_active is False

    call_command("import_districts", str(path))
    assert "created 0, updated 0, unchanged 453, deactivated 0" in capsys.readouterr().out


def test_import_with_keep_missing_does_not_deactivate(tmp_path):
    path = _write(
        tmp_path / "jongno.tsv", ["1111099900\tdong\t1111000000\t새종로동\tSaejongno-dong"]
    )
    call_command("import_districts", str(path), "--keep-missing")
    assert District.objects.get(code="1111099900").is_active is True
    assert District.objects.filter(is_active=True).count() == 453 + 1


def test_a_partial_file_without_keep_missing_deactivates_the_rest_of_its_city(tmp_path):
    # The file is taken to describe its city completely; its parent gu and the city stay active.
    path = _write(
        tmp_path / "jongno.tsv", ["1111099900\tdong\t1111000000\t새종로동\tSaejongno-dong"]
    )
    call_command("import_districts", str(path))
    active = set(District.objects.filter(is_active=True).values_list("code", flat=True))
    assert active == {"1100000000", "1111000000", "1111099900"}


def test_import_another_city_leaves_seoul_alone(tmp_path):
    path = _write(
        tmp_path / "busan.tsv",
        [
            "2600000000\tcity\t\t부산광역시\tBusan",
            "2611000000\tgu\t2600000000\t중구\tJung-gu",
            "2611051000\tdong\t2611000000\t중앙동\tJungang-dong",
        ],
    )
    before = _snapshot()
    call_command("import_districts", str(path))
    assert District.objects.filter(code__startswith="26").count() == 3
    assert [row for row in _snapshot() if not row[0].startswith("26")] == before


def test_import_with_retired_file(tmp_path):
    path = _write(
        tmp_path / "busan.tsv",
        [
            "2600000000\tcity\t\t부산광역시\tBusan",
            "2611000000\tgu\t2600000000\t중구\tJung-gu",
            "2611051000\tdong\t2611000000\t중앙동\tJungang-dong",
        ],
    )
    retired = tmp_path / "retired.tsv"
    retired.write_text(
        "code\tname_ko\tname_en\tparent_code\tretired_on\treplaced_by\n"
        "2611052000\t옛중앙동\tYetjungang-dong\t2611000000\t2020-01-01\t2611051000\n",
        encoding="utf-8",
    )
    call_command("import_districts", str(path), "--retired", str(retired))
    old = District.objects.get(code="2611052000")
    assert (old.level, old.parent_id, old.is_active) == ("dong", "2611000000", False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("111105300\tdong\t1111000000\t사직동\tSajik-dong", "not a 10-digit administrative code"),
        ("1111099900\tdong\t1111999999\t새동\tSae-dong", "neither in the file nor in the database"),
        ("1111099900\tdistrict\t1111000000\t새동\tSae-dong", "unknown level"),
        ("1111099900\tdong\t1111000000\t\tSae-dong", "Korean name is empty"),
        ("1111099900\tdong\t1114000000\t새동\tSae-dong", "first 5 digits"),
        ("1111099900\tdong\t1111000000\t새동", "expected 5 tab-separated columns"),
    ],
)
def test_a_bad_file_is_rejected_naming_the_line_and_nothing_is_written(tmp_path, line, message):
    path = _write(
        tmp_path / "bad.tsv",
        [
            "1111088800\tdong\t1111000000\t좋은동\tJoeun-dong",  # line 2: fine, but must not land
            line,  # line 3
        ],
    )
    before = _snapshot()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_districts", str(path))
    assert "line 3" in str(excinfo.value)
    assert message in str(excinfo.value)
    assert _snapshot() == before


def test_a_duplicate_code_names_both_lines(tmp_path):
    path = _write(
        tmp_path / "dup.tsv",
        [
            "1111088800\tdong\t1111000000\t좋은동\tJoeun-dong",
            "1111088800\tdong\t1111000000\t좋은동\tJoeun-dong",
        ],
    )
    with pytest.raises(
        DistrictFileError, match=r"line 3: code 1111088800 appears twice \(first on line 2\)"
    ):
        read_district_file(path)


def test_a_wrong_header_is_rejected(tmp_path):
    path = _write(tmp_path / "h.tsv", [], header="code,level,parent_code,name_ko,name_en\n")
    with pytest.raises(CommandError, match="line 1: the header must be"):
        call_command("import_districts", str(path))


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        call_command("import_districts", str(tmp_path / "nope.tsv"))


def test_a_retired_file_with_an_unknown_replacement_writes_nothing(tmp_path):
    path = _write(tmp_path / "ok.tsv", ["1111088800\tdong\t1111000000\t좋은동\tJoeun-dong"])
    retired = tmp_path / "retired.tsv"
    retired.write_text(
        "code\tname_ko\tname_en\tparent_code\tretired_on\treplaced_by\n"
        "1111077700\t옛동\tYet-dong\t1111000000\t2024-01-01\t1111000001\n",
        encoding="utf-8",
    )
    before = _snapshot()
    with pytest.raises(CommandError, match=r"line 2: replacement 1111000001 .* is unknown"):
        call_command("import_districts", str(path), "--retired", str(retired), "--keep-missing")
    assert _snapshot() == before


def test_read_retired_file_parses_dates_and_replacements(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text(
        "\ufeffcode\tname_ko\tname_en\tparent_code\tretired_on\treplaced_by\r\n"
        "1123053600\t용신동\tYongsin-dong\t1123000000\t2025-07-01\t1123051500, 1123053300\r\n",
        encoding="utf-8",
    )
    (row,) = read_retired_file(path)
    assert row.retired_on == datetime.date(2025, 7, 1)
    assert row.replaced_by == ("1123051500", "1123053300")


def test_bad_retired_date_names_the_line(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text(
        "code\tname_ko\tname_en\tparent_code\tretired_on\treplaced_by\n"
        "1123053600\t용신동\tYongsin-dong\t1123000000\t2025-13-01\t\n",
        encoding="utf-8",
    )
    with pytest.raises(DistrictFileError, match="line 2: retired_on '2025-13-01' is not a date"):
        read_retired_file(path)


def test_import_districts_accepts_rows_built_in_code_and_a_model():
    rows = [DistrictRow("1111088800", "dong", "1111000000", "창신제9동", "Changsin 9(gu)-dong")]
    report = import_districts(rows, deactivate_missing=False, model=District)
    assert (report.created, report.deactivated) == (1, 0)
    assert District.objects.search("창신9동").get().code == "1111088800"


def test_a_retired_code_also_listed_as_current_is_an_error():
    rows = [DistrictRow("1111088800", "dong", "1111000000", "좋은동", "Joeun-dong")]
    retired = [
        RetiredRow(
            "1111088800", "좋은동", "Joeun-dong", "1111000000", datetime.date(2025, 1, 1), ()
        )
    ]
    with pytest.raises(DistrictFileError, match="also listed as a current district"):
        import_districts(rows, retired=retired)
    assert not District.objects.filter(code="1111088800").exists()


def test_a_code_listed_again_is_reactivated(tmp_path):
    District.objects.filter(code="1111054000").update(is_active=False)
    report = load_seoul()
    assert (report.updated, report.unchanged) == (1, 453)
    assert District.objects.get(code="1111054000").is_active is True


def test_the_migration_loader_works_with_the_historical_model():
    from django.db.migrations.executor import MigrationExecutor

    state = MigrationExecutor(connection).loader.project_state(
        ("districts", "0002_load_seoul_districts")
    )
    historical = state.apps.get_model("districts", "District")
    District.objects.filter(code="1111053000").update(name_ko="틀린이름", search_key="x")
    report = load_seoul(model=historical)
    assert (report.updated, report.unchanged) == (1, 453)
    fixed = District.objects.get(code="1111053000")
    assert (fixed.name_ko, fixed.search_key) == ("사직동", "사직동 sajikdong")
