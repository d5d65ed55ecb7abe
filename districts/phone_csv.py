"""Reading a CSV of phone numbers, as officials export it from Excel, for a managed group.

Nothing here writes: the numbers read are handed to ``districts.managed_groups``.
"""

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.phone import normalize_phone

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_PHONE_CSV_BYTES = 2 * 1024 * 1024
MAX_PHONE_CSV_ROWS = 100_000

# Why a row was not taken. Lazy: rendered in the official's language when the report is shown.
ROW_EMPTY = _("no phone number in the first column")
ROW_NOT_MOBILE = _("not a mobile number")


class PhoneCSVError(ValueError):
    """The file as a whole cannot be used (too large, too many rows, not text, not CSV)."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class InvalidRow:
    line: int
    reason: "StrOrPromise"  # rendered in the reader's language


@dataclass(frozen=True)
class ParsedPhones:
    """What a phone-number CSV holds.

    ``phones`` are the valid numbers in E.164, each once, in file order; ``invalid`` the rows that
    were not taken, by line number (as Excel numbers its rows, header and blank lines included).
    """

    phones: list[str]
    invalid: list[InvalidRow]
    rows: int  # non-blank data rows read (header excluded)
    duplicates: int  # valid rows repeating a number already seen
    header_skipped: bool


def _decode_csv(data: bytes) -> str:
    # Excel's "CSV UTF-8" starts with a BOM; Korean Excel's plain "CSV" is CP949 (a superset of
    # EUC-KR). UTF-8 is tried first: CP949 would accept many UTF-8 byte sequences as garbage.
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PhoneCSVError(
        _("The file is neither UTF-8 nor CP949 (EUC-KR) text. Save it from Excel as “CSV UTF-8”.")
    )


def parse_phone_csv(
    data: bytes, *, max_bytes: int = MAX_PHONE_CSV_BYTES, max_rows: int = MAX_PHONE_CSV_ROWS
) -> ParsedPhones:
    """Read a CSV of phone numbers: one per row, in the first column; other columns are ignored.

    Numbers may be in E.164 (+821012345678) or the domestic form (010-1234-5678, 01012345678);
    they are normalised with :func:`core.phone.normalize_phone`. A first row whose first cell
    is not a phone number and contains letters ("phone", "전화번호") is a header and is skipped;
    blank lines are ignored. Raises :class:`PhoneCSVError` when the file as a whole is unusable.
    """
    if len(data) > max_bytes:
        raise PhoneCSVError(
            _("The file is larger than %(limit)s MB.") % {"limit": _megabytes(max_bytes)}
        )
    text = _decode_csv(data)
    phones: dict[str, None] = {}  # ordered set
    invalid: list[InvalidRow] = []
    rows = duplicates = 0
    header_skipped = False
    seen_first_row = False
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 0
    try:
        for line, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            first = cells[0].strip()
            try:
                phone = normalize_phone(first) if first else None
            except ValidationError:
                phone = None
            if not seen_first_row:
                seen_first_row = True
                if phone is None and any(ch.isalpha() for ch in first):
                    header_skipped = True
                    continue
            rows += 1
            if rows > max_rows:
                raise PhoneCSVError(
                    _(
                        "The file has more than %(limit)s rows. A group is set from one file, "
                        "so it cannot be split into several uploads; ask for a larger limit."
                    )
                    % {"limit": f"{max_rows:,}"}
                )
            if phone is None:
                invalid.append(InvalidRow(line, ROW_NOT_MOBILE if first else ROW_EMPTY))
            elif phone in phones:
                duplicates += 1
            else:
                phones[phone] = None
    except csv.Error as exc:
        raise PhoneCSVError(_("Line %(line)s cannot be read as CSV.") % {"line": line + 1}) from exc
    return ParsedPhones(
        phones=list(phones),
        invalid=invalid,
        rows=rows,
        duplicates=duplicates,
        header_skipped=header_skipped,
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
