"""The score distributions of a score poll (voting/charts.py lists the chart): each
option's raters as a bar split by the score they gave, its mean and median beside it. Pure:
``results.build``'s document in, SVG and a table out.
"""

from typing import Any

from django.utils.translation import gettext as _

from voting.chart_svg import FONT, Chart, Table, el, label, number, svg, text, withheld

WIDTH = 760
LABELS = 170


def _names(document: dict[str, Any]) -> dict[int, str]:
    return {o["id"]: o["label"] for o in document["options"]}


def _ramp(index: int, steps: int) -> str:
    """The ``index``-th of ``steps`` blues, light (low scores) to dark (high)."""
    low, high = (0xDE, 0xEB, 0xF7), (0x08, 0x45, 0x94)
    t = index / max(1, steps - 1)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high, strict=True))


def scores_chart(document: dict[str, Any]) -> Chart:
    """Each option's raters split by the score they gave (low scores light, high dark), with
    the mean and median beside it."""
    key = "scores"
    scores = document["scores"]
    names = _names(document)
    values = list(range(scores["min"], scores["max"] + 1))
    x0, bar_width, row_height, top = LABELS + 10, 360.0, 30, 40
    parts: list = []
    x = 0.0
    for i, value in enumerate(values):
        parts.append(
            el("rect", {"x": x, "y": 4, "width": 14, "height": 14, "fill": _ramp(i, len(values))})
        )
        parts.append(text(str(value), x=x + 18, y=16))
        x += 24 + 8 * len(str(value))
    hatch = f"hatch-{key}"
    for index, option in enumerate(scores["options"]):
        y = top + index * row_height
        name = names.get(option["id"], str(option["id"]))
        parts.append(label(name, x=0, y=y + row_height / 2, width=LABELS, lines=1))
        raters = option["raters"]
        if raters is None:
            parts.append(
                withheld(
                    pattern_id=hatch, x=x0, y=y + 5, width=140, height=row_height - 10, reason=name
                )
            )
            continue
        start = x0
        for i, entry in enumerate(option["distribution"]):
            if not raters or not entry["ballots"]:
                continue
            width = bar_width * entry["ballots"] / raters
            parts.append(
                el(
                    "rect",
                    {
                        "class": "score-segment",
                        "data-option": option["id"],
                        "data-score": entry["score"],
                        "data-ballots": entry["ballots"],
                        "x": start,
                        "y": y + 5,
                        "width": width,
                        "height": row_height - 10,
                        "fill": _ramp(
                            values.index(entry["score"]) if entry["score"] in values else i,
                            len(values),
                        ),
                    },
                    el(
                        "title",
                        {},
                        _("%(option)s: %(n)s ballots gave %(score)s")
                        % {"option": name, "n": entry["ballots"], "score": entry["score"]},
                    ),
                )
            )
            start += width
        summary = (
            _("mean %(mean)s · median %(median)s · %(raters)s rated")
            % {"mean": number(option["mean"]), "median": number(option["median"]), "raters": raters}
            if raters and option["mean"] is not None
            else _("no scores")
        )
        parts.append(
            text(
                summary, x=x0 + bar_width + 8, y=y + row_height / 2 + FONT * 0.35, css="chart-value"
            )
        )
    title = _("Scores per option")
    desc = _("Each option's raters split by the score they gave, from %(min)s to %(max)s.") % {
        "min": scores["min"],
        "max": scores["max"],
    }
    header = [_("Option"), *(str(v) for v in values), _("Abstained"), _("Mean"), _("Median")]
    rows = []
    for option in scores["options"]:
        ballots = {entry["score"]: entry["ballots"] for entry in option["distribution"]}
        rows.append(
            [
                names.get(option["id"], str(option["id"])),
                *(ballots.get(v, 0) for v in values),
                option["abstentions"],
                None if option["mean"] is None else number(option["mean"]),
                None if option["median"] is None else number(option["median"]),
            ]
        )
    height = top + row_height * len(scores["options"]) + 8
    return Chart(
        key=key,
        title=title,
        svg=svg(key=key, width=WIDTH, height=height, title=title, desc=desc, body=parts),
        tables=[Table(caption=title, header=header, rows=rows)],
    )
