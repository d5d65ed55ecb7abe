"""The workbook's sheets beyond the counts (voting/admin/results_workbook.py): the weighted results
and coverage (the evidence), a ranked question's runoff rounds, Borda points and head-to-head
results, a score question's distribution — each a table of ``results.build``'s document, nothing
computed finer than it — and the evidence's facts for the summary sheet.
"""

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext, pgettext

from voting.admin.results_tidy import tie_break_label


@dataclass
class Sheet:
    title: str
    header: list[str]
    rows: list[list[object]] = field(default_factory=list)
    # 0-based columns of numbers: an empty cell there is a suppressed number, greyed.
    suppressible: range = range(0)
    # Or, row by row, the columns whose empty cell is withheld (the long table's rows differ).
    withheld: list[frozenset[int]] | None = None
    # 0-based columns of fractions, shown as percentages (turnouts, to two decimals).
    percent: tuple[int, ...] = ()
    fine_percent: tuple[int, ...] = ()


def _labels(document: dict[str, Any]) -> dict[int, str]:
    return {option["id"]: option["label"] for option in document["options"]}


def evidence_sheets(document: dict[str, Any]) -> list[Sheet]:
    """가중 결과 (where the shares were weighted) and 응답 범위 (where the audience's population is
    known)."""
    evidence = document.get("evidence") or {}
    sheets = []
    weighted = evidence.get("weighted")
    if weighted:
        labels = _labels(document)
        ranked = bool(document.get("ranked"))
        sheets.append(
            Sheet(
                title=gettext("Weighted results"),
                header=[
                    gettext("Option"),
                    gettext("First-preference share") if ranked else gettext("Share"),
                    gettext("Weighted share"),
                    gettext("Margin of error (±, 95 percent)"),
                ],
                rows=[
                    [
                        labels[o["id"]],
                        o["raw_share"],
                        o["weighted_share"],
                        o["margin_of_error"],
                    ]
                    for o in weighted["options"]
                ],
                suppressible=range(2, 4),
                percent=(1, 2, 3),
            )
        )
    coverage = evidence.get("coverage")
    if coverage:
        sheet = Sheet(
            title=gettext("Coverage"),
            header=[
                gettext("Breakdown"),
                gettext("Code"),
                pgettext("results breakdown", "Group"),
                gettext("Population"),
                gettext("Participants"),
                gettext("Turnout"),
            ],
            suppressible=range(4, 6),
            fine_percent=(5,),
        )
        audience = gettext("The whole audience")
        whole = [coverage["population"], coverage["participants"], coverage["turnout"]]
        sheet.rows.append([audience, None, audience, *whole])
        sexes = {"female": gettext("female"), "male": gettext("male")}
        for title, key, rows in (
            (gettext("Gu"), "code", coverage["gu"]),
            (gettext("Age band"), "band", coverage["age_band"]),
            (gettext("Sex"), "sex", coverage["sex"]),
        ):
            for row in rows:
                name = row.get("name") or row.get("label")
                if key == "sex":
                    name = sexes.get(row["sex"], gettext("other or unknown"))
                figures = [row["population"], row["participants"], row["turnout"]]
                sheet.rows.append([title, row[key], name, *figures])
        sheets.append(sheet)
    return sheets


def ranked_sheets(document: dict[str, Any]) -> list[Sheet]:
    """결선 라운드 (a round a row, an option a column), 보르다, 쌍대 비교 (the matrix)."""
    ranked = document.get("ranked")
    if not ranked:
        return []
    labels = _labels(document)
    ids = list(labels)
    rounds = Sheet(
        title=gettext("Runoff rounds"),
        header=[
            gettext("Round"),
            gettext("Continuing ballots"),
            gettext("Exhausted ballots"),
            *labels.values(),
            gettext("Eliminated"),
            gettext("Elected"),
            gettext("Tie break"),
        ],
    )
    for one in ranked["rounds"]:
        votes = {entry["id"]: entry["votes"] for entry in one["tallies"]}
        rounds.rows.append(
            [
                one["round"],
                one["continuing"],
                one["exhausted"],
                *(votes.get(option) for option in ids),  # empty: out of the count by then
                ", ".join(labels[option] for option in one["eliminated"]),
                labels[one["elected"]] if one["elected"] is not None else "",
                tie_break_label(one["tie_break"]),
            ]
        )
    borda = Sheet(
        title=gettext("Borda count"),
        header=[gettext("Option"), gettext("First preferences"), gettext("Borda points")],
    )
    first = {entry["id"]: entry["votes"] for entry in ranked["first_preferences"]}
    for entry in ranked["borda"]:
        borda.rows.append([labels[entry["id"]], first.get(entry["id"]), entry["points"]])
    pairwise = Sheet(
        title=gettext("Pairwise comparison"),
        header=[gettext("Ballots ranking the row's option above the column's"), *labels.values()],
    )
    for row in ranked["pairwise"]:
        wins = {other["id"]: other["wins"] for other in row["against"]}
        pairwise.rows.append([labels[row["id"]], *(wins.get(option) for option in ids)])
    return [rounds, borda, pairwise]


def score_sheets(document: dict[str, Any]) -> list[Sheet]:
    """점수 분포: an option a row — raters, abstentions, mean, median, ballots per score."""
    scores = document.get("scores")
    if not scores:
        return []
    labels = _labels(document)
    values = list(range(scores["min"], scores["max"] + 1))
    sheet = Sheet(
        title=gettext("Score distribution"),
        header=[
            gettext("Option"),
            gettext("Raters"),
            gettext("Abstentions"),
            gettext("Mean"),
            gettext("Median"),
            *(gettext("Score %(score)d") % {"score": value} for value in values),
        ],
    )
    for entry in scores["options"]:
        ballots = {step["score"]: step["ballots"] for step in entry["distribution"]}
        sheet.rows.append(
            [
                labels[entry["id"]],
                entry["raters"],
                entry["abstentions"],
                entry["mean"],
                entry["median"],
                *(ballots.get(value, 0) for value in values),
            ]
        )
    return [sheet]


PERCENT, FINE_PERCENT = "0.0%", "0.00%"


def evidence_facts(document: dict[str, Any]) -> list[tuple[str, object, str | None]]:
    """(label, value, number format) of a ranked question's winners, and of the weighting, its
    population and the audience, for the summary sheet."""
    evidence = document.get("evidence")
    facts: list[tuple[str, object, str | None]] = []
    ranked = document.get("ranked")
    if ranked:
        labels = _labels(document)
        none = gettext("none")
        facts += [
            (gettext("Runoff winner"), labels.get(ranked["winner"], none), None),
            (gettext("Condorcet winner"), labels.get(ranked["condorcet_winner"], none), None),
        ]
    if not evidence:
        return facts
    status = {
        "weighted": gettext("weighted to the population"),
        "refused": gettext("not weighted"),
        "not_applicable": gettext("not weighted (score questions)"),
    }[evidence["status"]]
    facts.append((gettext("Weighting"), status, None))
    if evidence.get("refusal"):
        facts.append((gettext("Why not weighted"), evidence["refusal"]["detail"], None))
    source = evidence.get("population_source")
    if source:
        facts += [
            (gettext("Population table"), source["title"], None),
            (gettext("Population reference date"), source["reference_date"], None),
            (
                gettext("Population figures"),
                gettext("demonstration figures, not official statistics")
                if source["demo"]
                else gettext("official statistics"),
                None,
            ),
        ]
    weighted = evidence.get("weighted")
    if weighted:
        facts += [
            (gettext("Ballots weighted"), weighted["weighted_ballots"], None),
            (gettext("Ballots of an unknown group"), weighted["unknown_ballots"], None),
            (gettext("Ballots outside the population"), weighted["outside_ballots"], None),
            (gettext("Effective sample size (Kish)"), weighted["effective_sample_size"], None),
            (gettext("Design effect"), weighted["design_effect"], None),
            (gettext("Weight cap (× the mean weight)"), weighted["cap"], None),
            (
                gettext("Weight cap reached"),
                gettext("yes") if weighted["trimmed"] else gettext("no"),
                None,
            ),
        ]
    coverage = evidence.get("coverage")
    if coverage:
        facts += [
            (gettext("Residents in the audience"), coverage["population"], None),
            (gettext("Registered citizens in the audience"), coverage["registered"], None),
            (gettext("Share of residents registered"), coverage["registered_share"], FINE_PERCENT),
            (gettext("Turnout of residents"), coverage["turnout"], FINE_PERCENT),
            (
                gettext("Turnout of registered citizens"),
                coverage["turnout_of_registered"],
                FINE_PERCENT,
            ),
        ]
    return facts
