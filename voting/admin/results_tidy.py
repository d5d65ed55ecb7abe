"""The results document as one tidy (long-format) table: the long CSV, and the workbook's sheet of
all figures (voting/admin/results_exports.py).

One row per (breakdown, group, option) of the counts — overall, then each listed breakdown cell —
then the evidence (the weighting's status, coverage per gu, age band and sex), then a ranked
question's first preferences, runoff rounds and transfers, Borda points and head-to-head
results, or a score question's distribution. Every figure is the document's own (a group's share
is its shown votes over its shown participants); suppressed numbers stay None, with why in the
note. ``Breakdown`` says what a row's numbers are: docs/walkthroughs/officials.md lists them.
"""

from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass
from typing import Any

from django.utils.translation import gettext, pgettext

from accounts.models import Gender
from voting.models import Channel


@dataclass(frozen=True)
class TidyRow:
    poll: int
    breakdown: str  # "overall", "gu", "age_band", "gender", "coverage_gu", "round"…: see above
    code: str | int | None  # the gu's code, the age band (30 = 30s), a round, a score…
    group: str
    participants: int | None  # the ballots the row's share is out of
    option_id: int | None
    option: str
    votes: int | None  # ballots (votes, first preferences, transfers, wins) or Borda points
    share: float | None
    weighted_share: float | None = None
    margin_of_error: float | None = None
    population: int | None = None
    turnout: float | None = None
    note: str = ""
    # The columns (0-based, of ``values``) whose empty cell is a withheld number: the workbook
    # greys those, and only those (an empty cell elsewhere is a figure the row has no use for).
    withheld: frozenset[int] = frozenset()

    def values(self) -> tuple:
        """The row as the files write it, in ``tidy_header``'s order."""
        return astuple(self)[:-1]


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
        gettext("Weighted share"),
        gettext("Margin of error"),
        gettext("Population"),
        gettext("Turnout"),
        gettext("Note"),
    ]


SHARE_COLUMNS = (8, 9, 10)
TURNOUT_COLUMNS = (12,)


def _share(votes: int | None, total: int | None) -> float | None:
    # results._share's rounding, over numbers the document already shows.
    if votes is None or total is None:
        return None
    return round(votes / total, 4) if total else 0.0


def _notes(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


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
    channels = dict(Channel.choices)
    for cell in breakdown.get("channel", []):
        name = str(channels.get(cell["channel"], gettext("unknown")))
        yield "channel", cell["channel"], name, cell


def weighted_by_option(document: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The evidence's weighted figures per option id; empty where nothing was weighted."""
    weighted = (document.get("evidence") or {}).get("weighted") or {}
    return {figures["id"]: figures for figures in weighted.get("options", [])}


def _count_rows(document: dict[str, Any]) -> Iterator[TidyRow]:
    suppressed = gettext("suppressed")
    labels = {option["id"]: option["label"] for option in document["options"]}
    # A ranked question's shares are weighted on first preferences: beside those rows, not these.
    weighted = {} if document.get("ranked") else weighted_by_option(document)
    for breakdown, code, group, cell in _groups(document):
        for option in cell["options"]:
            figures = weighted.get(option["id"], {}) if breakdown == "overall" else {}
            yield TidyRow(
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
                else _share(option["votes"], cell["total"]),
                **_weighted_fields(
                    figures,
                    note=document["note"] or (suppressed if option["votes"] is None else ""),
                    withheld=_empty(
                        participants=cell["total"] is None, votes=option["votes"] is None
                    ),
                ),
            )


PARTICIPANTS, VOTES, SHARE, WEIGHTED, MARGIN, TURNOUT = 4, 7, 8, 9, 10, 12


def _empty(*, participants: bool, votes: bool) -> frozenset[int]:
    columns = {PARTICIPANTS} if participants else set()
    return frozenset(columns | ({VOTES, SHARE} if votes else set()))


def _weighted_fields(
    figures: dict[str, Any], *, note: str = "", withheld: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """The row's weighted share and margin (``figures``: the evidence's, or none), its note with
    why a weighted share is missing, and its withheld columns."""
    hidden = bool(figures) and figures["weighted_share"] is None
    return {
        "weighted_share": figures.get("weighted_share"),
        "margin_of_error": figures.get("margin_of_error"),
        "note": _notes(note, gettext("weighted share withheld") if hidden else ""),
        "withheld": withheld | frozenset({WEIGHTED, MARGIN} if hidden else ()),
    }


def _evidence_rows(document: dict[str, Any]) -> Iterator[TidyRow]:
    evidence = document.get("evidence")
    if not evidence:
        return
    poll = document["poll"]
    status = {
        "weighted": gettext("weighted to the population"),
        "refused": gettext("not weighted"),
        "not_applicable": gettext("not weighted (score questions)"),
    }[evidence["status"]]
    weighted = evidence.get("weighted") or {}
    refusal = evidence.get("refusal") or {}
    yield TidyRow(
        poll, "weighting", evidence["status"], status, weighted.get("weighted_ballots"),
        None, "", None, None, note=refusal.get("detail", ""),
    )  # fmt: skip
    coverage = evidence.get("coverage")
    if not coverage:
        return
    yield TidyRow(
        poll, "coverage", None, gettext("The whole audience"), coverage["participants"],
        None, "", None, None, population=coverage["population"], turnout=coverage["turnout"],
        note=gettext("suppressed") if coverage["participants"] is None else "",
        withheld=_withheld_turnout(coverage["participants"]),
    )  # fmt: skip
    sexes = {"female": gettext("female"), "male": gettext("male")}
    margins = (
        ("coverage_gu", "code", lambda row: row["name"], coverage["gu"]),
        ("coverage_age_band", "band", lambda row: row["label"], coverage["age_band"]),
        (
            "coverage_sex",
            "sex",
            lambda row: sexes.get(row["sex"], gettext("other or unknown")),
            coverage["sex"],
        ),
    )
    for breakdown, key, name, rows in margins:
        for row in rows:
            yield TidyRow(
                poll, breakdown, row[key], name(row), row["participants"], None, "", None, None,
                population=row["population"], turnout=row["turnout"],
                note=gettext("suppressed") if row["participants"] is None else "",
                withheld=_withheld_turnout(row["participants"]),
            )  # fmt: skip


def _withheld_turnout(participants: int | None) -> frozenset[int]:
    return frozenset({PARTICIPANTS, TURNOUT}) if participants is None else frozenset()


def tie_break_label(rule: str | None) -> str:
    return {
        None: "",
        "previous_rounds": gettext("tie broken by the earlier rounds"),
        "borda": gettext("tie broken by the Borda count"),
        "position": gettext("tie broken by the options' order"),
    }.get(rule, rule or "")


def _ranked_rows(document: dict[str, Any]) -> Iterator[TidyRow]:
    ranked = document.get("ranked")
    if not ranked:
        return
    poll, total = document["poll"], document["total"]
    labels = {option["id"]: option["label"] for option in document["options"]}
    weighted = weighted_by_option(document)
    exhausted = gettext("exhausted")
    for entry in ranked["first_preferences"]:
        yield TidyRow(
            poll, "first_preference", None, gettext("All participants"), total, entry["id"],
            labels[entry["id"]], entry["votes"], entry["share"],
            **_weighted_fields(weighted.get(entry["id"], {})),
        )  # fmt: skip
    for one in ranked["rounds"]:
        group = gettext("Round %(round)d") % {"round": one["round"]}
        for entry in one["tallies"]:
            notes = []
            if entry["id"] == one["elected"]:
                notes.append(gettext("elected"))
            if entry["id"] in one["eliminated"]:
                notes += [gettext("eliminated"), tie_break_label(one["tie_break"])]
            yield TidyRow(
                poll, "round", one["round"], group, one["continuing"], entry["id"],
                labels[entry["id"]], entry["votes"], entry["share"], note=_notes(*notes),
            )  # fmt: skip
        yield TidyRow(
            poll, "round", one["round"], group, None, None, exhausted, one["exhausted"], None
        )
        for transfer in one["transfers"]:
            to = transfer["to"]
            yield TidyRow(
                poll, "transfer", one["round"], labels[transfer["from"]], None, to,
                exhausted if to is None else labels[to], transfer["votes"], None,
            )  # fmt: skip
    for entry in ranked["borda"]:
        yield TidyRow(
            poll, "borda", None, gettext("Borda points"), total, entry["id"],
            labels[entry["id"]], entry["points"], None,
        )  # fmt: skip
    for row in ranked["pairwise"]:
        for other in row["against"]:
            decided = other["wins"] + other["losses"]
            yield TidyRow(
                poll, "pairwise", row["id"], labels[row["id"]], decided, other["id"],
                labels[other["id"]], other["wins"], _share(other["wins"], decided),
            )  # fmt: skip


def _score_rows(document: dict[str, Any]) -> Iterator[TidyRow]:
    scores = document.get("scores")
    if not scores:
        return
    labels = {option["id"]: option["label"] for option in document["options"]}
    for entry in scores["options"]:
        for step in entry["distribution"]:
            yield TidyRow(
                document["poll"], "score", step["score"],
                gettext("Score %(score)d") % {"score": step["score"]}, entry["raters"],
                entry["id"], labels[entry["id"]], step["ballots"],
                _share(step["ballots"], entry["raters"]) if entry["raters"] else None,
            )  # fmt: skip


def tidy_rows(document: dict[str, Any]) -> list[TidyRow]:
    """``results.build``'s document as one long table; suppressed numbers stay None, and the
    note says why (the document's own note where it withholds every number)."""
    return [
        *_count_rows(document),
        *_evidence_rows(document),
        *_ranked_rows(document),
        *_score_rows(document),
    ]
