"""The results workbook (XLSX) for officials: a sheet per view of ``results.build``'s document.

Summary (the poll, the export, the board's head, the weighting's facts), options, weighted results
and coverage (where the evidence has them), a ranked question's rounds, Borda points and
pairwise matrix or a score question's distribution, one sheet per breakdown, all figures (the long
table) and the method. Numbers are numbers; a suppressed number is an empty grey cell; texts are
texts, whatever they look like (voting/admin/results_exports.py serves it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from voting import sealing
from voting.admin.results import ResultsTable, results_tables, spreadsheet_text
from voting.admin.results_sheets import (
    FINE_PERCENT,
    PERCENT,
    Sheet,
    evidence_facts,
    evidence_sheets,
    ranked_sheets,
    score_sheets,
)
from voting.admin.results_tidy import (
    SHARE_COLUMNS,
    TURNOUT_COLUMNS,
    tidy_header,
    tidy_rows,
)
from voting.models import Poll

if TYPE_CHECKING:
    from voting.admin.results_exports import Snapshot

SEOUL = ZoneInfo("Asia/Seoul")
# The grey of a suppressed cell: empty, and visibly not a zero.
SUPPRESSED_FILL = PatternFill("solid", fgColor="D9D9D9")
BOLD = Font(bold=True)


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


def _sheet_title(title: str) -> str:
    # Excel's rules for a sheet's name: at most 31 characters, none of []:*?/\.
    return "".join(c for c in title if c not in "[]:*?/\\")[:31]


def _table_sheet(book: Workbook, table: Sheet) -> Worksheet:
    """A sheet of one table: its header, then its rows; an empty cell in one of its suppressible
    columns is a suppressed number, and is greyed."""
    sheet = book.create_sheet(title=_sheet_title(table.title))
    _append(sheet, table.header, bold=True)
    formats = {
        **dict.fromkeys(table.percent, PERCENT),
        **dict.fromkeys(table.fine_percent, FINE_PERCENT),
    }
    for number, row in enumerate(table.rows):
        _append(sheet, row)
        greyed = table.suppressible if table.withheld is None else table.withheld[number]
        for index, cell in enumerate(sheet[sheet.max_row]):
            if index in greyed and cell.value is None:
                cell.fill = SUPPRESSED_FILL
            if index in formats:
                cell.number_format = formats[index]
    sheet.freeze_panes = "A2"
    for index, heading in enumerate(table.header, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(40, len(heading) * 2 + 2))
    return sheet


def _options_sheet(document: dict[str, Any]) -> Sheet:
    return Sheet(
        title=gettext("Options"),
        header=[gettext("Option"), gettext("Votes"), gettext("Share")],
        rows=[[o["label"], o["votes"], o["share"]] for o in document["options"]],
        suppressible=range(1, 3),
        percent=(2,),
    )


# Where the numbers of the page's tables (voting/admin/results.py) start: after the group's
# name, and by gu its code.
FIRST_NUMBER = {"gu": 2, "age": 1, "gender": 1, "channel": 1}


def _breakdown_sheet(table: ResultsTable) -> Sheet:
    numbers = range(FIRST_NUMBER[table.key], len(table.header))
    return Sheet(table.title, table.header, table.rows, suppressible=numbers)


def _tidy_sheet(document: dict[str, Any]) -> Sheet:
    rows = tidy_rows(document)
    return Sheet(
        title=gettext("All figures"),
        header=tidy_header(),
        rows=[[*row.values()[:-1], row.note or None] for row in rows],
        # Greyed where the row says a number is withheld: its other empty cells are figures
        # that row has no use for (a count's population, a transfer's share).
        withheld=[row.withheld for row in rows],
        percent=SHARE_COLUMNS,
        fine_percent=TURNOUT_COLUMNS,
    )


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
    evidence = snap.document.get("evidence") or {}
    paragraphs = [
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
    ]
    if evidence.get("weighted"):
        paragraphs.append(
            gettext(
                "Weighted shares (sheet 'Weighted results') are the shares the ballots would give "
                "if the participants matched the audience's residents by gu, age band and sex "
                "(raking to the population table named in the summary). The margin of error is "
                "the 95 percent range of chance variation only, widened for unequal weights "
                "(Kish's design effect): it does not cover who chose to take part, residents the "
                "service does not reach, nor the population table's own limits."
            )
        )
    if evidence.get("coverage"):
        paragraphs.append(
            gettext(
                "Coverage (sheet 'Coverage') is the participants over the residents of the "
                "audience, per gu, age band and sex; a group's participants below %(k)d are "
                "suppressed like the breakdowns'."
            )
            % {"k": k}
        )
    paragraphs.append(
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
        }
    )
    return paragraphs


def _summary(book: Workbook, snap: Snapshot, *, board_url: str) -> None:
    summary = book.active
    assert summary is not None  # a new workbook has its one sheet
    summary.title = _sheet_title(gettext("Summary"))
    rows: list[tuple[str, object, str | None]] = [
        (label, value, None) for label, value in facts(snap, board_url=board_url)
    ]
    for label, value, number_format in rows + evidence_facts(snap.document):
        _append(summary, [label, value])
        summary.cell(row=summary.max_row, column=1).font = BOLD
        if number_format:
            summary.cell(row=summary.max_row, column=2).number_format = number_format
    summary.column_dimensions["A"].width = 32
    summary.column_dimensions["B"].width = 70


def workbook(snap: Snapshot, *, board_url: str) -> Workbook:
    """The sheets: summary, options, the evidence's, the question kind's, one per breakdown, all
    figures (long format), method."""
    book = Workbook()
    _summary(book, snap, board_url=board_url)
    document = snap.document
    sheets = [
        _options_sheet(document),
        *evidence_sheets(document),
        *ranked_sheets(document),
        *score_sheets(document),
        # The options are the sheet above, as numbers.
        *(_breakdown_sheet(table) for table in results_tables(document)[1:]),
        _tidy_sheet(document),
    ]
    for sheet in sheets:
        _table_sheet(book, sheet)
    method = book.create_sheet(title=_sheet_title(gettext("Method")))
    site_url = board_url.removesuffix(reverse("voting:board", args=[snap.poll.pk]))
    for paragraph in method_note(snap, site_url=site_url):
        _append(method, [paragraph])
        method.cell(row=method.max_row, column=1).alignment = Alignment(wrap_text=True)
    method.column_dimensions["A"].width = 120
    return book
