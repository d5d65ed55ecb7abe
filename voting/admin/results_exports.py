"""Results for officials as files: one tidy (long-format) CSV, and an XLSX workbook.

Both are built from ``results.build``'s document only, like the results page and the tables CSV
(voting/admin/results.py): suppressed numbers stay suppressed (an empty cell, never a number), and
nothing finer than the document is computed (a group's share is its shown votes over its shown
participants). Texts officials or citizens wrote are defused so no spreadsheet runs them.

Room to grow: a weighted share is one more ``TidyRow`` field and column (``tidy_header``), and one
more column of ``_options_sheet``; ranked or score polls get a sheet of their own in ``workbook``.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, pgettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from accounts.models import Gender
from voting import results, sealing, tallies
from voting.admin.results import ResultsTable, results_tables, spreadsheet_text
from voting.models import BoardEntry, Poll

SEOUL = ZoneInfo("Asia/Seoul")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The grey of a suppressed cell: empty, and visibly not a zero.
SUPPRESSED_FILL = PatternFill("solid", fgColor="D9D9D9")
BOLD = Font(bold=True)


@dataclass(frozen=True)
class Snapshot:
    """What one export shows: the document, and the board's head it was counted up to."""

    poll: Poll
    document: dict[str, Any]
    # {"seq", "hash", "signature"} of the last counted batch; None before the first one.
    head: dict[str, Any] | None
    exported_at: datetime


def _head(poll_id: int) -> dict[str, Any] | None:
    head = (
        BoardEntry.objects.filter(poll_id=poll_id)
        .order_by("-seq")
        .values("seq", "hash", "signature")
        .first()
    )
    return dict(head) if head else None


def snapshot(*, poll: Poll) -> Snapshot:
    """The poll's results with the board head they add up to.

    The counter writes a batch's board entry and its counters in one transaction, and heads only
    move forward: a head read unchanged before and after the counters were read is the head of
    those counters. A poll counted meanwhile is read again (a closed poll never moves).
    """
    for _attempt in range(5):
        head = _head(poll.pk)
        # Options as officials wrote them, in Korean beside the Korean title, whatever the
        # admin's language: the file is the city's record (as the results page).
        document = results.build(
            poll, tallies.read(poll.pk), content_language=settings.LANGUAGE_CODE
        )
        if _head(poll.pk) == head:
            break
    return Snapshot(
        poll=poll,
        document=document,
        head=head,
        exported_at=timezone.localtime(timezone.now(), SEOUL),
    )


# --- The tidy table: one row per (breakdown, group, option) ------------------------------------


@dataclass(frozen=True)
class TidyRow:
    poll: int
    breakdown: str  # "overall", "gu", "age_band" or "gender": the document's own keys
    code: str | int | None  # the gu's code, the age band (30 = 30s), the gender; None: overall
    group: str
    participants: int | None
    option_id: int
    option: str
    votes: int | None
    share: float | None
    note: str


def tidy_header() -> list[str]:
    return [
        gettext("Poll ID"),
        gettext("Breakdown"),
        gettext("Code"),
        pgettext("results breakdown", "Group"),
        gettext("Participants"),
        gettext("Option ID"),
        gettext("Option"),
        gettext("Votes"),
        gettext("Share"),
        gettext("Note"),
    ]


def _cell_share(votes: int | None, total: int | None) -> float | None:
    # results._share's rounding, over numbers the document already shows.
    if votes is None or total is None:
        return None
    return round(votes / total, 4) if total else 0.0


def _groups(document: dict[str, Any]) -> Iterable[tuple[str, str | int | None, str, dict]]:
    """(breakdown, code, group name, cell) of the whole poll, then of every listed breakdown
    cell, in the page's order."""
    whole = {"total": document["total"], "options": document["options"]}
    yield "overall", None, gettext("All participants"), whole
    breakdown = document["breakdown"]
    for cell in breakdown["gu"]:
        yield "gu", cell["code"], cell["name"], cell
    for cell in breakdown["age_band"]:
        yield "age_band", cell["band"], cell["label"], cell
    genders = dict(Gender.choices)
    for cell in breakdown["gender"]:
        yield "gender", cell["gender"], str(genders.get(cell["gender"], gettext("unknown"))), cell


def tidy_rows(document: dict[str, Any]) -> list[TidyRow]:
    """``results.build``'s document as one long table; suppressed numbers stay None, and the
    note says why (the document's own note where it withholds every number)."""
    suppressed = gettext("suppressed")
    labels = {option["id"]: option["label"] for option in document["options"]}
    return [
        TidyRow(
            poll=document["poll"],
            breakdown=breakdown,
            code=code,
            group=group,
            participants=cell["total"],
            option_id=option["id"],
            option=labels[option["id"]],
            votes=option["votes"],
            # The whole poll's shares are the document's; a cell's, its shown numbers'.
            share=option["share"]
            if "share" in option
            else _cell_share(option["votes"], cell["total"]),
            note=document["note"] or (suppressed if option["votes"] is None else ""),
        )
        for breakdown, code, group, cell in _groups(document)
        for option in cell["options"]
    ]


def _filename(snap: Snapshot, suffix: str) -> str:
    return f"poll-{snap.poll.pk}-results-{snap.exported_at:%Y%m%d}{suffix}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    # content_disposition_header adds filename*=UTF-8''… should a name ever be non-ASCII.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def results_tidy_csv(poll: Poll) -> HttpResponse:
    """The long-format CSV: a header, then one row per (breakdown, group, option); suppressed
    and withheld numbers are empty cells, with why in the Note column (UTF-8 with a BOM)."""
    snap = snapshot(poll=poll)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # the BOM: Excel then reads the Korean as UTF-8
    writer = csv.writer(response)
    writer.writerow(tidy_header())
    for row in tidy_rows(snap.document):
        writer.writerow(
            ["" if value is None else spreadsheet_text(value) for value in astuple(row)]
        )
    return _attachment(response, _filename(snap, "-long.csv"))


# --- The workbook ------------------------------------------------------------------------------


def _xlsx_value(value: object) -> object:
    """A value as a cell holds it: numbers stay numbers; texts lose the characters XML cannot
    carry, and are defused like the CSV's (openpyxl would store "=…" as a formula)."""
    if isinstance(value, str):
        return spreadsheet_text(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _append(sheet: Worksheet, values: Iterable[object], *, bold: bool = False) -> None:
    sheet.append([_xlsx_value(value) for value in values])
    row = sheet.max_row
    for cell in sheet[row]:
        if bold:
            cell.font = BOLD
        if isinstance(cell.value, str):
            cell.data_type = "s"  # a text, whatever it looks like


def _table_sheet(
    book: Workbook, *, title: str, header: list[str], rows: list[list[object]], numbers: range
) -> Worksheet:
    """A sheet of one table: its header, then its rows; an empty cell in one of the columns
    ``numbers`` (0-based) is a suppressed number, and is greyed."""
    sheet = book.create_sheet(title=_sheet_title(title))
    _append(sheet, header, bold=True)
    for row in rows:
        _append(sheet, row)
        for index, cell in enumerate(sheet[sheet.max_row]):
            if index in numbers and cell.value is None:
                cell.fill = SUPPRESSED_FILL
    sheet.freeze_panes = "A2"
    for index, heading in enumerate(header, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(40, len(heading) * 2 + 2))
    return sheet


def _sheet_title(title: str) -> str:
    # Excel's rules for a sheet's name: at most 31 characters, none of []:*?/\.
    return "".join(c for c in title if c not in "[]:*?/\\")[:31]


def _options_sheet(book: Workbook, document: dict[str, Any]) -> None:
    sheet = _table_sheet(
        book,
        title=gettext("Options"),
        header=[gettext("Option"), gettext("Votes"), gettext("Share")],
        rows=[[o["label"], o["votes"], o["share"]] for o in document["options"]],
        numbers=range(1, 3),
    )
    for (share,) in sheet.iter_rows(min_row=2, min_col=3, max_col=3):
        share.number_format = "0.0%"


# Where the numbers of the page's tables (voting/admin/results.py) start: after the group's
# name, and by gu its code.
FIRST_NUMBER = {"gu": 2, "age": 1, "gender": 1}


def _breakdown_sheet(book: Workbook, table: ResultsTable) -> None:
    numbers = range(FIRST_NUMBER[table.key], len(table.header))
    _table_sheet(book, title=table.title, header=table.header, rows=table.rows, numbers=numbers)


def _tidy_sheet(book: Workbook, document: dict[str, Any]) -> None:
    sheet = _table_sheet(
        book,
        title=gettext("All figures"),
        header=tidy_header(),
        rows=[[*astuple(row)[:-1], row.note or None] for row in tidy_rows(document)],
        numbers=range(4, 9),  # participants (empty only with no total at all) to share
    )
    for (share,) in sheet.iter_rows(min_row=2, min_col=9, max_col=9):
        share.number_format = "0.0%"


def facts(snap: Snapshot, *, board_url: str) -> list[tuple[str, object]]:
    """(label, value) of the poll, the export and the board's head, for the summary sheet."""
    poll, document, head = snap.poll, snap.document, snap.head
    no_batch = gettext("no batch counted yet")
    return [
        (gettext("Poll ID"), poll.pk),
        (gettext("Poll"), poll.title),
        (gettext("Status"), str(Poll.Status(document["status"]).label)),
        (gettext("Opens at"), timezone.localtime(poll.opens_at, SEOUL).isoformat()),
        (gettext("Closes at"), timezone.localtime(poll.closes_at, SEOUL).isoformat()),
        (gettext("Participants"), document["note"] or document["total"]),
        (gettext("Exported at"), snap.exported_at.isoformat(timespec="seconds")),
        (gettext("Board head batch"), head["seq"] if head else no_batch),
        (gettext("Board head hash"), head["hash"] if head else no_batch),
        (gettext("Board head signature"), head["signature"] if head else no_batch),
        (gettext("Board verify key"), sealing.verify_key_hex()),
        (gettext("Board address"), board_url),
    ]


def method_note(snap: Snapshot, *, site_url: str) -> list[str]:
    """What the figures are and how to check them, paragraph by paragraph."""
    k, minimum = settings.BALLOT_BATCH_MIN, settings.RESULTS_MIN_CELL
    head = snap.head
    return [
        gettext(
            "These figures are the ballots counted as of %(when)s (Asia/Seoul): the same numbers "
            "as the results page, the API, the public board and the live dashboard. They are "
            "counts of the ballots cast, not weighted to the population."
        )
        % {"when": snap.exported_at.isoformat(timespec="seconds")},
        gettext(
            "Ballots are counted in batches of at least %(k)d, so totals move only in such "
            "batches; until the first batch is counted there is no total at all."
        )
        % {"k": k},
        gettext(
            "Breakdowns by gu, age band and gender appear only once the poll is final, and list "
            "only groups of at least %(k)d ballots; smaller groups are not listed at all."
        )
        % {"k": k},
        gettext(
            "Within a listed group, an option's votes below %(min)d are suppressed, and so is the "
            "next smallest number wherever a suppressed one could be worked out from the others. "
            "A suppressed number is an empty (grey) cell, never a zero; the long-format sheet "
            "and CSV say so in the Note column."
        )
        % {"min": minimum},
        gettext(
            "A share is an option's votes over the group's participants (counted ballots); "
            "where a ballot may choose several options, shares add up to more than 100 percent."
        ),
        gettext(
            "The board's head is the last counted batch, hash-chained to every batch before it "
            "and signed with the city's key: its hash (%(hash)s) vouches for every ballot behind "
            "these figures. Anyone can check the board and its totals with the verifier "
            "(verifier/verify_board.py): python3 verify_board.py --url %(url)s --poll %(poll)d "
            "--key %(key)s"
        )
        % {
            "hash": head["hash"] if head else gettext("no batch counted yet"),
            "url": site_url,
            "poll": snap.poll.pk,
            "key": sealing.verify_key_hex(),
        },
    ]


def workbook(snap: Snapshot, *, board_url: str) -> Workbook:
    """The sheets: summary, options, one per breakdown, all figures (long format), method."""
    book = Workbook()
    summary = book.active
    assert summary is not None  # a new workbook has its one sheet
    summary.title = _sheet_title(gettext("Summary"))
    for label, value in facts(snap, board_url=board_url):
        _append(summary, [label, value])
        summary.cell(row=summary.max_row, column=1).font = BOLD
    summary.column_dimensions["A"].width = 24
    summary.column_dimensions["B"].width = 70
    document = snap.document
    _options_sheet(book, document)
    for table in results_tables(document)[1:]:  # the options are the sheet above, as numbers
        _breakdown_sheet(book, table)
    _tidy_sheet(book, document)
    method = book.create_sheet(title=_sheet_title(gettext("Method")))
    site_url = board_url.removesuffix(reverse("voting:board", args=[snap.poll.pk]))
    for paragraph in method_note(snap, site_url=site_url):
        _append(method, [paragraph])
        method.cell(row=method.max_row, column=1).alignment = Alignment(wrap_text=True)
    method.column_dimensions["A"].width = 120
    return book


def results_xlsx(request: HttpRequest, poll: Poll) -> HttpResponse:
    snap = snapshot(poll=poll)
    board_url = request.build_absolute_uri(reverse("voting:board", args=[poll.pk]))
    buffer = io.BytesIO()
    workbook(snap, board_url=board_url).save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    return _attachment(response, _filename(snap, ".xlsx"))


def export_urls(
    *, wrap: Callable, poll_for: Callable[[HttpRequest, str], Poll], info: tuple[str, str | None]
) -> list[URLPattern]:
    """The exports' admin URLs beside the tables CSV's, behind the same admin view and the same
    poll lookup (``poll_for``: the admin's scoping and view permission)."""

    def tidy_csv(request: HttpRequest, object_id: str) -> HttpResponse:
        return results_tidy_csv(poll_for(request, object_id))

    def xlsx(request: HttpRequest, object_id: str) -> HttpResponse:
        return results_xlsx(request, poll_for(request, object_id))

    return [
        path(
            "<path:object_id>/results/long-csv/",
            wrap(tidy_csv),
            name="{}_{}_results_long_csv".format(*info),
        ),
        path(
            "<path:object_id>/results/xlsx/",
            wrap(xlsx),
            name="{}_{}_results_xlsx".format(*info),
        ),
    ]
