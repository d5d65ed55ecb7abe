"""Results in the admin: ``results.build``'s document as tables, for the page and the CSV.

Nothing here shows which citizen chose what: results come only from ``results.build`` (small cells
suppressed), and suppressed numbers stay suppressed in both.
"""

import csv
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Gender
from voting import charts, eligibility, results, tallies
from voting.admin.audience import may_see_estimate
from voting.admin.base import reverse_or_none
from voting.evidence import published as published_evidence
from voting.models import Channel, Poll


@dataclass
class ResultsTable:
    key: str
    title: str
    header: list[str]
    # A cell is a number, a text, or None where the number is suppressed.
    rows: list[list[object]] = field(default_factory=list)


def _percent(share: float | None) -> str | None:
    return None if share is None else f"{share * 100:.1f}%"


def results_tables(document: dict[str, Any]) -> list[ResultsTable]:
    """``results.build``'s document as tables; suppressed numbers stay None."""
    labels = [option["label"] for option in document["options"]]
    # An option's "votes" are the ballots naming it: for a ranked poll, ranking it anywhere; for
    # a score poll, scoring it (the shares then add up to more than 100%).
    votes_header = {
        "ranked": gettext("Ballots ranking it"),
        "score": gettext("Ballots scoring it"),
    }.get(document.get("kind", ""), gettext("Votes"))
    tables = [
        ResultsTable(
            key="options",
            title=gettext("Options"),
            header=[gettext("Option"), votes_header, gettext("Share")],
            rows=[
                [option["label"], option["votes"], _percent(option["share"])]
                for option in document["options"]
            ],
        )
    ]
    breakdown = document["breakdown"]
    gu = ResultsTable(
        key="gu",
        title=gettext("By gu"),
        header=[gettext("Gu"), gettext("Code"), gettext("Participants"), *labels],
    )
    for cell in breakdown["gu"]:
        gu.rows.append([cell["name"], cell["code"] or "", cell["total"], *_votes(cell)])
    age = ResultsTable(
        key="age",
        title=gettext("By age band"),
        header=[gettext("Age band"), gettext("Participants"), *labels],
    )
    for cell in breakdown["age_band"]:
        age.rows.append([cell["label"], cell["total"], *_votes(cell)])
    gender = ResultsTable(
        key="gender",
        title=gettext("By gender"),
        header=[gettext("Gender"), gettext("Participants"), *labels],
    )
    genders = dict(Gender.choices)
    for cell in breakdown["gender"]:
        name = genders.get(cell["gender"], gettext("unknown"))
        gender.rows.append([str(name), cell["total"], *_votes(cell)])
    channel = ResultsTable(
        key="channel",
        title=gettext("By channel"),
        header=[gettext("Channel"), gettext("Participants"), *labels],
    )
    channels = dict(Channel.choices)
    for cell in breakdown.get("channel", []):
        name = channels.get(cell["channel"], gettext("unknown"))
        channel.rows.append([str(name), cell["total"], *_votes(cell)])
    return [*tables, gu, age, gender, channel]


def _votes(cell: dict[str, Any]) -> list[int | None]:
    return [option["votes"] for option in cell["options"]]


def spreadsheet_text(value: object) -> object:
    """Text cells that a spreadsheet would run as a formula are quoted with a leading '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    warning: bool = False


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def evidence_figures(evidence: dict[str, Any] | None) -> list[Figure]:
    """What the weighting and coverage rest on, for the results page: whether the shares could
    be weighted (and if not, why), against which population, and how much the weights cost."""
    if not evidence:
        return []
    status = {
        "weighted": gettext("weighted to the population"),
        "refused": gettext("not weighted"),
        "not_applicable": gettext("not weighted (score polls are not weighted)"),
    }
    figures = [Figure(gettext("Weighting"), status.get(evidence["status"], evidence["status"]))]
    refusal = evidence.get("refusal")
    if refusal:
        figures.append(Figure(gettext("Why not"), refusal["detail"], warning=True))
    source = evidence.get("population_source")
    if source:
        words = f"{source['title']} ({source['reference_date']})"
        if source.get("demo"):
            words += " — " + gettext("a demonstration table, not official statistics")
        figures.append(Figure(gettext("Population"), words, warning=bool(source.get("demo"))))
    else:
        figures.append(Figure(gettext("Population"), gettext("none loaded"), warning=True))
    weighted = evidence.get("weighted")
    if weighted:
        figures += [
            Figure(
                gettext("Ballots weighted"),
                gettext(
                    "%(weighted)s of %(ballots)s (unknown group: %(unknown)s, outside: %(outside)s)"
                )
                % {
                    "weighted": _number(weighted["weighted_ballots"]),
                    "ballots": _number(weighted["ballots"]),
                    "unknown": _number(weighted["unknown_ballots"]),
                    "outside": _number(weighted["outside_ballots"]),
                },
            ),
            Figure(gettext("Effective sample size"), _number(weighted["effective_sample_size"], 1)),
            Figure(gettext("Design effect"), _number(weighted["design_effect"], 2)),
            Figure(
                gettext("Weight cap"),
                (
                    gettext("%(cap)s × the mean weight; some weights were capped")
                    if weighted["trimmed"]
                    else gettext("%(cap)s × the mean weight")
                )
                % {"cap": _number(weighted["cap"], 1)},
            ),
        ]
    coverage = evidence.get("coverage")
    if coverage:
        figures += [
            Figure(gettext("Residents"), _number(coverage["population"])),
            Figure(
                gettext("Turnout"),
                gettext("%(turnout)s of residents, %(registered)s of registered citizens")
                % {
                    "turnout": _percent(coverage["turnout"]) or "—",
                    "registered": _percent(coverage["turnout_of_registered"]) or "—",
                },
            ),
        ]
    return figures


def _document(poll: Poll) -> dict[str, Any]:
    # The options as officials wrote them, in Korean beside the poll's Korean title, whatever the
    # admin's language: the page and the CSV are the city's record.
    return results.build(
        poll,
        tallies.read(poll.pk),
        content_language=settings.LANGUAGE_CODE,
        # Its sentences and names in the admin's language, as the breakdown's labels.
        evidence=published_evidence(poll),
    )


def audience_turnout(request: HttpRequest, poll: Poll, total: int | None) -> dict | None:
    """Participants against the citizens who may vote in ``poll`` (counted now: a citizen who
    joined or moved since the poll opened counts as they are now). None where the total is
    withheld, or where the audience includes a managed group and the official may not see
    phone numbers (``may_see_estimate``: the count would tell which uploaded numbers have
    accounts)."""
    if total is None:
        return None
    audience = eligibility.Audience.of(poll)
    if not may_see_estimate(request.user, audience.group_ids):
        return None
    eligible = eligibility.estimate(audience)["verified"]
    share = total / eligible if eligible else None
    return {
        "participants": total,
        "eligible": eligible,
        "percent": None if share is None else f"{share * 100:.1f}",
        # A bar never wider than its box, even if more voted than may vote now (citizens who
        # moved away since).
        "bar": None if share is None else f"{min(share, 1) * 100:.1f}",
    }


def results_page(request: HttpRequest, poll: Poll, context: dict[str, Any]) -> TemplateResponse:
    """The results page of ``poll``; ``context`` is the admin's (site, options)."""
    document = _document(poll)
    context = {
        **context,
        "title": gettext("Results: %(title)s") % {"title": poll.title},
        "poll": poll,
        "original": poll,
        "status": Poll.Status(document["status"]).label,
        "total": document["total"],
        "turnout": audience_turnout(request, poll, document["total"]),
        "note": document["note"],
        "tables": results_tables(document),
        "charts": charts.charts(document),
        "evidence": evidence_figures(document.get("evidence")),
        "min_cell": settings.RESULTS_MIN_CELL,
        "batch_min": settings.BALLOT_BATCH_MIN,
        "csv_url": reverse("admin:voting_poll_results_csv", args=[poll.pk]),
        "long_csv_url": reverse("admin:voting_poll_results_long_csv", args=[poll.pk]),
        "xlsx_url": reverse("admin:voting_poll_results_xlsx", args=[poll.pk]),
        "dashboard_url": reverse_or_none("voting_dashboard:poll", poll.pk),
        "has_view_permission": True,
    }
    return TemplateResponse(request, "admin/voting/poll/results.html", context)


def results_csv(poll: Poll) -> HttpResponse:
    """The same tables as a CSV download (UTF-8 with a BOM, formulas defused)."""
    document = _document(poll)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="poll-{poll.pk}-results.csv"'
    response.write("\ufeff")  # the BOM: Excel then reads the Korean as UTF-8
    writer = csv.writer(response)
    suppressed = gettext("suppressed")
    writer.writerow([gettext("Poll"), spreadsheet_text(poll.title)])
    writer.writerow([gettext("Status"), Poll.Status(document["status"]).label])
    total = document["note"] if document["withheld"] else document["total"]
    writer.writerow([gettext("Participants"), total])
    writer.writerow([gettext("Exported at"), timezone.localtime().isoformat()])
    for table in results_tables(document):
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow([spreadsheet_text(h) for h in table.header])
        for row in table.rows:
            writer.writerow(
                [suppressed if cell is None else spreadsheet_text(cell) for cell in row]
            )
    return response


def poll_links(poll: Poll) -> list[tuple[str, str]]:
    """(label, url) of the poll's results page, its files and its live dashboard (if installed)."""
    links = [
        (gettext("Results"), reverse("admin:voting_poll_results", args=[poll.pk])),
        (gettext("Results (CSV)"), reverse("admin:voting_poll_results_csv", args=[poll.pk])),
        (
            gettext("Results (long CSV)"),
            reverse("admin:voting_poll_results_long_csv", args=[poll.pk]),
        ),
        (gettext("Results (XLSX)"), reverse("admin:voting_poll_results_xlsx", args=[poll.pk])),
    ]
    dashboard = reverse_or_none("voting_dashboard:poll", poll.pk)
    if dashboard:
        links.append((gettext("Live dashboard"), dashboard))
    return links
