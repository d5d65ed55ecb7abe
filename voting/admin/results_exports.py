"""Results for officials as files: one tidy (long-format) CSV, and an XLSX workbook.

Both are built from ``results.build``'s document only — its evidence (weighted shares, coverage)
and its ranked or score sections included — like the results page and the tables CSV
(voting/admin/results.py): suppressed numbers stay suppressed (an empty cell, never a number), and
nothing finer than the document is computed (a group's share is its shown votes over its shown
participants). Texts officials or citizens wrote are defused so no spreadsheet runs them. The
long table is voting/admin/results_tidy.py, the workbook voting/admin/results_workbook.py.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header

from voting import evidence, results, tallies
from voting.admin.results import spreadsheet_text
from voting.admin.results_tidy import tidy_header, tidy_rows
from voting.admin.results_workbook import SEOUL, workbook
from voting.models import BoardEntry, Poll

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
        # admin's language: the file is the city's record (as the results page). The evidence's
        # names and sentences are in the admin's language, as the headers and the breakdowns'.
        document = results.build(
            poll,
            tallies.read(poll.pk),
            content_language=settings.LANGUAGE_CODE,
            evidence=evidence.published(poll),
        )
        if _head(poll.pk) == head:
            break
    return Snapshot(
        poll=poll,
        document=document,
        head=head,
        exported_at=timezone.localtime(timezone.now(), SEOUL),
    )


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
            ["" if value is None else spreadsheet_text(value) for value in row.values()]
        )
    return _attachment(response, _filename(snap, "-long.csv"))


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
