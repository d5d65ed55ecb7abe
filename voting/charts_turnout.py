"""Turnout charts (voting/charts.py lists them): participants as a share of the residents of each
gu, age band and sex, from the evidence's coverage rows, the overall turnout as a reference line.
Pure: the document's ``evidence.coverage`` in, SVG and a table out.
"""

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Gender
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
LABELS = 190
VALUES = 120


def _pct(share: float | None) -> str | None:
    return None if share is None else percent(share)


def _group_name(dimension: str, row: dict[str, Any]) -> str:
    if dimension == "gu":
        return row.get("name") or (row.get("code") or _("unknown"))
    if dimension == "age_band":
        return row.get("label") or _("unknown")
    sexes = dict(Gender.choices)
    return str(sexes.get(str(row.get("sex")), _("unknown")))


TURNOUT_TITLES = {
    "gu": lambda: _("Turnout by gu"),
    "age_band": lambda: _("Turnout by age band"),
    "sex": lambda: _("Turnout by sex"),
}


def turnout_chart(coverage: dict[str, Any], *, dimension: str) -> Chart:
    """Participants as a share of the residents of each group, the whole audience's turnout as
    a reference line; groups whose participants are withheld are drawn as withheld."""
    key = f"turnout-{dimension}"
    table_rows = coverage.get(dimension) or []
    # A group without residents (unknown, or not in the population) and without participants
    # has nothing to draw; it stays in the table.
    rows = [row for row in table_rows if row["population"] is not None or row["participants"] != 0]
    overall = coverage.get("turnout")
    values = [row["turnout"] or 0 for row in rows] + [overall or 0]
    maximum = nice_ceiling(max(values) * 1.05)
    x0 = LABELS + 10
    scale = (WIDTH - x0 - VALUES) / maximum
    row_height = 24
    top = 22
    bottom = top + row_height * len(rows)
    parts: list = axis(x0=x0, scale=scale, maximum=maximum, top=top, bottom=bottom)
    hatch = f"hatch-{key}"
    for index, row in enumerate(rows):
        y = top + index * row_height
        name = _group_name(dimension, row)
        parts.append(label(name, x=0, y=y + row_height / 2, width=LABELS, lines=1))
        if row["participants"] is None:
            parts.append(
                withheld(
                    pattern_id=hatch, x=x0, y=y + 4, width=140, height=row_height - 8, reason=name
                )
            )
        elif row["turnout"] is None:
            parts.append(
                text(
                    _("%(n)s participants, no population figure") % {"n": row["participants"]},
                    x=x0 + 4,
                    y=y + row_height / 2 + FONT * 0.35,
                    css="chart-value",
                )
            )
        else:
            width = row["turnout"] * scale
            parts.append(
                el(
                    "g",
                    {"class": "bar"},
                    el("title", {}, f"{name}: {percent(row['turnout'])}"),
                    el(
                        "rect",
                        {
                            "class": "bar-turnout",
                            "x": x0,
                            "y": y + 4,
                            "width": width,
                            "height": row_height - 8,
                            "fill": RAW,
                        },
                    ),
                    text(
                        percent(row["turnout"]),
                        x=x0 + width + 6,
                        y=y + row_height / 2 + FONT * 0.35,
                        css="chart-value",
                    ),
                )
            )
    if overall is not None:
        x = x0 + overall * scale
        parts.append(
            el(
                "g",
                {"class": "reference"},
                el(
                    "line",
                    {
                        "x1": x,
                        "y1": top - 2,
                        "x2": x,
                        "y2": bottom + 4,
                        "stroke": WEIGHTED,
                        "stroke-width": 2,
                        "stroke-dasharray": "5 3",
                    },
                ),
                text(
                    _("overall %(turnout)s") % {"turnout": percent(overall)},
                    x=x,
                    y=bottom + 18,
                    anchor="middle",
                    css="chart-reference",
                ),
            )
        )
    title = TURNOUT_TITLES[dimension]()
    desc = _(
        "Participants as a share of residents per group; the dashed line is the overall turnout."
    )
    table = Table(
        caption=title,
        header=[_("Group"), _("Residents"), _("Participants"), _("Turnout")],
        rows=[
            [
                _group_name(dimension, row),
                _round(row["population"]),
                row["participants"],
                _pct(row["turnout"]),
            ]
            for row in table_rows
        ],
    )
    return Chart(
        key=key,
        title=title,
        svg=svg(key=key, width=WIDTH, height=bottom + 26, title=title, desc=desc, body=parts),
        tables=[table],
    )


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)
