"""Building blocks of the results charts (voting/charts.py, voting/charts_ranked.py): SVG
elements with every attribute and text escaped, labels that wrap instead of being clipped, and
the hatched placeholder that says "withheld" where a number is not published.

The charts are inline SVG drawn on the server: no script, no chart library, nothing fetched, so
the admin works offline and under any content security policy (presentation attributes, not
``style``). Text is filled with ``currentColor`` so the admin's dark theme recolours it.
"""

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

FONT = 12  # user units; the charts are drawn at about 1 unit : 1 CSS pixel
# Colours that stay apart for the common colour blindnesses (Okabe–Ito), then the dashboard's.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#5f6b7a",
    "#6c8f00",
    "#8e44ad",
)
RAW = "#94a3b8"
WEIGHTED = "#0072b2"
HATCH = "#9ca3af"


@dataclass(frozen=True)
class Table:
    """A chart's numbers as a table, shown beside it: what a screen reader (or a printout)
    reads instead of the picture. A ``None`` cell is a withheld number."""

    caption: str
    header: list[str]
    rows: list[list[object]] = field(default_factory=list)

    def cells(self) -> list[list[tuple[str, object]]]:
        """Each row's cells as (kind, value) for the template: "withheld" (None), "number"
        (right-aligned) or "text"."""
        return [
            [
                (
                    "withheld"
                    if cell is None
                    else "number"
                    if isinstance(cell, int | float)
                    or (isinstance(cell, str) and cell[:1].isdigit())
                    else "text",
                    cell,
                )
                for cell in row
            ]
            for row in self.rows
        ]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: SafeString | None
    tables: list[Table] = field(default_factory=list)
    note: str = ""


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def number(value: float) -> str:
    return str(round(value)) if float(value).is_integer() else f"{value:.1f}"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _attribute(value: object) -> object:
    # Coordinates and data-* shares: four decimals are exact enough, and short.
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else value


def el(tag: str, attrs: Mapping[str, object] | None = None, *children: str) -> SafeString:
    """``<tag attrs>children</tag>``: attribute values and plain-text children escaped (markup
    built here is already safe). ``None`` attributes are left out."""
    attributes = format_html_join(
        "",
        ' {}="{}"',
        ((name, _attribute(value)) for name, value in (attrs or {}).items() if value is not None),
    )
    body = mark_safe("".join(str(conditional_escape(child)) for child in children))  # noqa: S308
    return format_html("<{}{}>{}</{}>", tag, attributes, body, tag)


def text_width(text: str, *, size: float = FONT) -> float:
    """About how wide ``text`` is drawn: Hangul and other wide characters take a full em, the
    rest a little over half of one."""
    return sum(
        size if unicodedata.east_asian_width(char) in ("W", "F") else size * 0.6 for char in text
    )


def wrap(text: str, *, width: float, size: float = FONT, lines: int = 2) -> list[str]:
    """``text`` broken into at most ``lines`` lines of at most ``width``, at spaces where it can
    (Korean labels have them too) and anywhere where it cannot; the last line ends in "…" where
    text is left out."""
    out: list[str] = []
    line = ""
    for char in " ".join(text.split()):
        if text_width(line + char, size=size) <= width:
            line += char
            continue
        space = line.rfind(" ")
        if char != " " and space > 0:
            out.append(line[:space])
            line = line[space + 1 :] + char
        else:
            out.append(line.rstrip())
            line = char.lstrip()
    if line:
        out.append(line)
    if len(out) <= lines:
        return out or [""]
    kept = out[:lines]
    last = kept[-1]
    while last and text_width(last + "…", size=size) > width:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return kept


def label(
    text: str,
    *,
    x: float,
    y: float,
    width: float,
    size: float = FONT,
    lines: int = 2,
    anchor: str = "start",
    weight: str | None = None,
    css: str = "chart-label",
) -> SafeString:
    """A label wrapped to ``width``, vertically centred on ``y``; its full text is its tooltip
    (``<title>``) wherever it had to be shortened."""
    parts = wrap(text, width=width, size=size, lines=lines)
    step = size * 1.2
    first = y - step * (len(parts) - 1) / 2 + size * 0.35
    spans = [el("tspan", {"x": x, "y": first + i * step}, part) for i, part in enumerate(parts)]
    shortened = "".join(parts).replace("…", "") != "".join(text.split()).replace(" ", "")
    title = el("title", {}, text) if shortened else ""
    return el(
        "text",
        {
            "class": css,
            "x": x,
            "y": first,
            "font-size": size,
            "font-weight": weight,
            "text-anchor": anchor,
            "fill": "currentColor",
        },
        title,
        *spans,
    )


def hatch_pattern(pattern_id: str) -> SafeString:
    return el(
        "pattern",
        {
            "id": pattern_id,
            "width": 6,
            "height": 6,
            "patternUnits": "userSpaceOnUse",
            "patternTransform": "rotate(45)",
        },
        el("rect", {"width": 6, "height": 6, "fill": "none"}),
        el("line", {"x1": 0, "y1": 0, "x2": 0, "y2": 6, "stroke": HATCH, "stroke-width": 2}),
    )


def withheld(
    *, pattern_id: str, x: float, y: float, width: float, height: float, reason: str = ""
) -> SafeString:
    """The placeholder of a withheld number: a hatched box saying so — never a bar of zero."""
    words = _("withheld")
    return el(
        "g",
        {"class": "chart-withheld"},
        el("title", {}, f"{words}: {reason}" if reason else words),
        el(
            "rect",
            {
                "x": x,
                "y": y,
                "width": width,
                "height": height,
                "fill": f"url(#{pattern_id})",
                "stroke": HATCH,
            },
        ),
        el(
            "text",
            {
                "x": x + 6,
                "y": y + height / 2 + FONT * 0.35,
                "font-size": FONT,
                "fill": "currentColor",
                "font-style": "italic",
            },
            words,
        ),
    )


def text(
    content: str,
    *,
    x: float,
    y: float,
    size: float = FONT,
    anchor: str = "start",
    css: str | None = None,
    weight: str | None = None,
) -> SafeString:
    return el(
        "text",
        {
            "class": css,
            "x": x,
            "y": y,
            "font-size": size,
            "text-anchor": anchor,
            "font-weight": weight,
            "fill": "currentColor",
        },
        content,
    )


def svg(
    *, key: str, width: float, height: float, title: str, desc: str, body: Iterable[str]
) -> SafeString:
    """A whole chart: ``role="img"`` named by its ``<title>`` and described by its ``<desc>``;
    it scales down with the page (CSS: max-width 100%), never wider than drawn."""
    return el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "results-chart",
            "id": f"chart-{key}",
            "data-chart": key,
            "viewBox": f"0 0 {number(width)} {number(height)}",
            "width": width,
            "height": height,
            "role": "img",
            "aria-labelledby": f"chart-{key}-title chart-{key}-desc",
        },
        el("title", {"id": f"chart-{key}-title"}, title),
        el("desc", {"id": f"chart-{key}-desc"}, desc),
        el("defs", {}, hatch_pattern(f"hatch-{key}")),
        *body,
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^n (as a share, at most 1) not below ``value``."""
    if value <= 0:
        return 0.1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value - 1e-12:
            return min(1.0, candidate)
    return 1.0


def axis(*, x0: float, scale: float, maximum: float, top: float, bottom: float) -> list:
    parts = []
    for tick in (0, maximum / 2, maximum):
        x = x0 + tick * scale
        parts.append(
            el(
                "line",
                {
                    "x1": x,
                    "y1": top,
                    "x2": x,
                    "y2": bottom,
                    "stroke": "currentColor",
                    "stroke-opacity": 0.25 if tick else 0.6,
                },
            )
        )
        words = f"{tick * 100:.1f}".rstrip("0").rstrip(".") + "%"
        parts.append(text(words, x=x, y=top - 4, anchor="middle", css="chart-tick"))
    return parts
