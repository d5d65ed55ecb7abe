"""The shipped data files themselves, read without the database's help."""

import csv
from collections import Counter

from districts.district_files import RETIRED_COLUMNS
from districts.loaders import SEOUL_FILE, SEOUL_RETIRED_FILE


def _rows(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_seoul_file_has_one_city_25_gu_and_427_dongs():
    rows = _rows(SEOUL_FILE)
    assert Counter(row["level"] for row in rows) == {"city": 1, "gu": 25, "dong": 427}
    assert len({row["code"] for row in rows}) == len(rows) == 453
    assert all(len(row["code"]) == 10 and row["code"].isdigit() for row in rows)


def test_every_parent_exists_and_every_dong_lies_in_its_gu():
    rows = {row["code"]: row for row in _rows(SEOUL_FILE)}
    (city,) = [row for row in rows.values() if row["level"] == "city"]
    assert city["code"] == "1100000000"
    assert city["parent_code"] == ""
    for row in rows.values():
        if row["level"] == "gu":
            assert row["parent_code"] == city["code"]
        elif row["level"] == "dong":
            gu = rows[row["parent_code"]]
            assert gu["level"] == "gu"
            assert row["code"][:5] == gu["code"][:5], row


def test_names_are_filled_in_both_languages():
    for row in _rows(SEOUL_FILE):
        assert row["name_ko"].strip() == row["name_ko"] != ""
        assert row["name_en"].strip() == row["name_en"] != ""


def test_yongsin_dong_is_retired_and_replaced_by_sinseol_and_yongdu():
    current = {row["code"] for row in _rows(SEOUL_FILE)}
    retired = _rows(SEOUL_RETIRED_FILE)
    assert list(retired[0]) == list(RETIRED_COLUMNS)
    assert retired == [
        {
            "code": "1123053600",
            "name_ko": "용신동",
            "name_en": "Yongsin-dong",
            "parent_code": "1123000000",
            "retired_on": "2025-07-01",
            "replaced_by": "1123051500,1123053300",
        }
    ]
    assert "1123053600" not in current
    assert {"1123051500", "1123053300", "1123000000"} <= current
