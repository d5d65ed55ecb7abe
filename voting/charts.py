"""Charts of a poll's results for officials: ``results.build``'s document in, inline SVG out.

Pure: the document (docs: design of issue 18) is all they read, so they show exactly what the
tables and files show — a number withheld there is drawn as a hatched "withheld" box here, never
as a bar of zero. ``charts`` lists every chart that fits the document: shares (raw beside weighted,
with 95% intervals, where the evidence has them), the instant-runoff rounds and the ranking tables
(voting/charts_ranked.py), the score distributions, and turnout by gu, age band and sex. Each
carries its numbers as tables for those who cannot see it.
"""

from typing import Any

from django.utils.translation import gettext as _

from voting import charts_ranked, charts_scores, charts_turnout
from voting.chart_svg import (
    FONT,
    RAW,
    WEIGHTED,
    Chart,
    Table,
    axis,
    el,
    label,
    nice_ceiling,
    percent,
    svg,
    text,
    withheld,
)

WIDTH = 760
LABELS = 190  # the label column; bars start after it
VALUES = 120  # room right of the longest bar for its value


def labels_of(document: dict[str, Any]) -> dict[int, str]:
    return {option["id"]: option["label"] for option in document["options"]}


def _legend(entries: list[tuple[str, str]], *, y: float) -> list:
    parts, x = [], 0.0
    for fill, words in entries:
        parts.append(el("rect", {"x": x, "y": y - 10, "width": 12, "height": 12, "fill": fill}))
        parts.append(text(words, x=x + 17, y=y))
        x += 40 + len(words) * FONT * 0.62
    return parts


def _weighted(document: dict[str, Any]) -> dict[int, dict[str, Any]] | None:
    evidence = document.get("evidence") or {}
    if evidence.get("status") != "weighted" or not evidence.get("weighted"):
        return None
    return {row["id"]: row for row in evidence["weighted"]["options"]}


def _raw_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw figures the weighting applies to: ranked polls' first preferences, else the
    options' ballots."""
    ranked = document.get("ranked")
    if document.get("kind") == "ranked" and ranked:
        return ranked["first_preferences"]
    return [{"id": o["id"], "votes": o["votes"], "share": o["share"]} for o in document["options"]]


def shares_chart(document: dict[str, Any]) -> Chart:
    """Each option's share of the ballots, and beside it the weighted share with its 95%
    interval where the evidence has one."""
    key = "shares"
    names = labels_of(document)
    rows = _raw_rows(document)
    weighted = _weighted(document)
    upper = [row["share"] or 0 for row in rows]
    for figures in (weighted or {}).values():
        if figures["weighted_share"] is not None:
            upper.append(figures["weighted_share"] + (figures["margin_of_error"] or 0))
    maximum = nice_ceiling(max(upper, default=0))
    x0 = LABELS + 10
    scale = (WIDTH - x0 - VALUES) / maximum
    row_height = 50 if weighted else 32
    top = 52
    parts: list = _legend(
        [(RAW, _("Share of ballots"))]
        + ([(WEIGHTED, _("Weighted share, 95 percent interval"))] if weighted else []),
        y=14,
    )
    parts += axis(x0=x0, scale=scale, maximum=maximum, top=top, bottom=top + row_height * len(rows))
    hatch = f"hatch-{key}"
    for index, row in enumerate(rows):
        y = top + index * row_height
        name = names.get(row["id"], str(row["id"]))
        # A weighted row is tall enough for a third line: fewer labels end in "…" (the
        # full text is the label's tooltip and the table's row either way).
        parts.append(
            label(name, x=0, y=y + row_height / 2, width=LABELS, lines=3 if weighted else 2)
        )
        bar = 14 if weighted else 18
        bar_y = y + (row_height - (2 * bar + 4 if weighted else bar)) / 2
        parts.append(
            _bar(
                share=row["share"],
                css="bar-raw",
                option=row["id"],
                fill=RAW,
                x0=x0,
                y=bar_y,
                height=bar,
                scale=scale,
                hatch=hatch,
                tooltip=_("%(option)s: share of ballots") % {"option": name},
            )
        )
        if weighted:
            figures = weighted.get(row["id"], {"weighted_share": None, "margin_of_error": None})
            parts.append(
                _bar(
                    share=figures["weighted_share"],
                    moe=figures["margin_of_error"],
                    css="bar-weighted",
                    option=row["id"],
                    fill=WEIGHTED,
                    x0=x0,
                    y=bar_y + bar + 4,
                    height=bar,
                    scale=scale,
                    hatch=hatch,
                    tooltip=_("%(option)s: weighted share") % {"option": name},
                )
            )
    height = top + row_height * len(rows) + 8
    desc = (
        _(
            "Each option's share of the ballots (grey) and its share weighted to the population "
            "(blue) with a 95 percent interval."
        )
        if weighted
        else _("Each option's share of the ballots.")
    )
    ranked = document.get("kind") == "ranked" and bool(document.get("ranked"))
    title = _("First preferences per option") if ranked else _("Shares per option")
    header = [_("Option"), _("Votes"), _("Share")]
    if weighted:
        header += [_("Weighted share"), _("95 percent interval")]
    table_rows = []
    for row in rows:
        line: list[object] = [
            names.get(row["id"], str(row["id"])),
            row["votes"],
            _pct(row["share"]),
        ]
        if weighted:
            figures = weighted.get(row["id"], {"weighted_share": None, "margin_of_error": None})
            line += [_pct(figures["weighted_share"]), _interval(figures)]
        table_rows.append(line)
    return Chart(
        key=key,
        title=title,
        svg=svg(key=key, width=WIDTH, height=height, title=title, desc=desc, body=parts),
        tables=[Table(caption=title, header=header, rows=table_rows)],
    )


def _pct(share: float | None) -> str | None:
    return None if share is None else percent(share)


def _interval(figures: dict[str, Any]) -> str | None:
    share, moe = figures["weighted_share"], figures["margin_of_error"]
    if share is None or moe is None:
        return None
    return f"{percent(max(0.0, share - moe))} – {percent(min(1.0, share + moe))}"


def _bar(
    *,
    share: float | None,
    css: str,
    option: int,
    fill: str,
    x0: float,
    y: float,
    height: float,
    scale: float,
    hatch: str,
    tooltip: str,
    moe: float | None = None,
) -> Any:
    if share is None:
        return withheld(pattern_id=hatch, x=x0, y=y, width=140, height=height, reason=tooltip)
    width = share * scale
    parts = [
        el("title", {}, f"{tooltip}: {percent(share)}" + (f" ± {percent(moe)}" if moe else "")),
        el(
            "rect",
            {
                "class": css,
                "data-option": option,
                "data-share": share,
                "x": x0,
                "y": y,
                "width": width,
                "height": height,
                "fill": fill,
            },
        ),
    ]
    end = x0 + width
    if moe is not None:
        low, high = max(0.0, share - moe), min(1.0, share + moe)
        mid = y + height / 2
        x_low, x_high = x0 + low * scale, x0 + high * scale
        parts.append(
            el(
                "g",
                {
                    "class": "error-bar",
                    "data-low": f"{low:.6f}",
                    "data-high": f"{high:.6f}",
                    "stroke": "currentColor",
                    "stroke-width": 1.5,
                },
                el("line", {"x1": x_low, "y1": mid, "x2": x_high, "y2": mid}),
                el("line", {"x1": x_low, "y1": y + 2, "x2": x_low, "y2": y + height - 2}),
                el("line", {"x1": x_high, "y1": y + 2, "x2": x_high, "y2": y + height - 2}),
            )
        )
        end = max(end, x_high)
    value = percent(share) + (f" ± {percent(moe)}" if moe is not None else "")
    parts.append(text(value, x=end + 6, y=y + height / 2 + FONT * 0.35, css="chart-value"))
    return el("g", {"class": "bar"}, *parts)


def charts(document: dict[str, Any]) -> list[Chart]:
    """Every chart that fits ``document``, in the order the results page shows them."""
    out = []
    if document.get("kind") != "score":
        out.append(shares_chart(document))
    if document.get("ranked"):
        out += charts_ranked.ranked_charts(document)
    if document.get("scores"):
        out.append(charts_scores.scores_chart(document))
    coverage = (document.get("evidence") or {}).get("coverage")
    if coverage:
        out += [
            charts_turnout.turnout_chart(coverage, dimension=d) for d in ("gu", "age_band", "sex")
        ]
    return out
