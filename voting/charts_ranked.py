"""Charts of ranked polls (voting/charts.py lists them): the instant-runoff rounds as a flow, the
Borda count and the pairwise contests as tables. Pure: ``results.build``'s document in, SVG and
tables out.
"""

from typing import Any

from django.utils.translation import gettext as _

from voting.chart_svg import (
    FONT,
    Chart,
    Table,
    color,
    el,
    label,
    percent,
    svg,
    text,
)

WIDTH = 760
LABELS = 170
BAR = 16
MIN_SLOT = 16  # every bar gets at least this much room, so labels never overlap
GAP = 6
EXHAUSTED = "#cbd5e1"
ELIMINATED = "#b91c1c"


def _names(document: dict[str, Any]) -> dict[int | None, str]:
    names: dict[int | None, str] = {o["id"]: o["label"] for o in document["options"]}
    names[None] = _("exhausted")
    return names


def _layout(
    round_: dict[str, Any], *, order: list[int], scale: float, top: float
) -> dict[int | None, tuple[float, float]]:
    """(top, height) of each bar of a round: continuing options in the poll's order, then the
    exhausted ballots (key None)."""
    votes = {row["id"]: row["votes"] for row in round_["tallies"]}
    out: dict[int | None, tuple[float, float]] = {}
    y = top
    for option in order:
        if option in votes:
            height = votes[option] * scale
            out[option] = (y, height)
            y += max(height, MIN_SLOT) + GAP
    out[None] = (y, round_["exhausted"] * scale)
    return out


def _band(x1: float, top1: float, x2: float, top2: float, height: float) -> str:
    middle = (x1 + x2) / 2
    return (
        f"M{x1:.1f},{top1:.1f} C{middle:.1f},{top1:.1f} {middle:.1f},{top2:.1f} "
        f"{x2:.1f},{top2:.1f} "
        f"L{x2:.1f},{top2 + height:.1f} C{middle:.1f},{top2 + height:.1f} "
        f"{middle:.1f},{top1 + height:.1f} {x1:.1f},{top1 + height:.1f} Z"
    )


def irv_chart(document: dict[str, Any]) -> Chart:
    """One column per round, one bar per continuing option sized by its votes (the exhausted
    ballots below); bands carry each option's votes on to the next round, and the eliminated
    option's ballots to the options they transfer to (or to "exhausted")."""
    key = "irv"
    ranked = document["ranked"]
    rounds = ranked["rounds"]
    names = _names(document)
    order = [o["id"] for o in document["options"]]
    colors: dict[int | None, str] = {option: color(i) for i, option in enumerate(order)}
    colors[None] = EXHAUSTED
    largest = max((r["continuing"] + r["exhausted"] for r in rounds), default=0) or 1
    scale = (40 + 34 * len(order)) / largest
    top = 58  # below the rounds' headers (two lines each)
    spacing = max(110.0, (WIDTH - LABELS - 20 - BAR - 110) / max(1, len(rounds) - 1))
    width = max(WIDTH, LABELS + 20 + spacing * (len(rounds) - 1) + BAR + 110)
    xs = [LABELS + 20 + spacing * i for i in range(len(rounds))]
    layouts = [_layout(r, order=order, scale=scale, top=top) for r in rounds]
    parts: list = []
    bottom = float(top)
    for index, round_ in enumerate(rounds):
        x = xs[index]
        layout = layouts[index]
        if index + 1 < len(rounds):
            parts += _flows(
                round_,
                layout,
                layouts[index + 1],
                x,
                xs[index + 1],
                scale=scale,
                colors=colors,
                names=names,
            )
        last = index + 1 == len(rounds)
        parts += _header(round_, x=x, width=width - x - 4 if last else spacing - 10, names=names)
        votes = {row["id"]: row["votes"] for row in round_["tallies"]}
        for option, (y, height) in layout.items():
            bottom = max(bottom, y + max(height, MIN_SLOT))
            count = round_["exhausted"] if option is None else votes[option]
            if option is None and not count:
                continue
            parts.append(
                _bar(
                    round_,
                    option=option,
                    votes=count,
                    x=x,
                    y=y,
                    height=height,
                    fill=colors[option],
                    name=names[option],
                    last=index + 1 == len(rounds),
                )
            )
            if index == 0:
                parts.append(
                    label(
                        names[option],
                        x=0,
                        y=y + max(height, MIN_SLOT) / 2,
                        width=LABELS - 8,
                        lines=1,
                    )
                )
    title = _("Instant-runoff rounds")
    winner = ranked.get("winner")
    desc = _(
        "One column per round; bars are the votes of the options still in, bands show the "
        "eliminated option's ballots moving to their next preference or to exhausted."
    )
    if winner is not None:
        desc += " " + _("Elected: %(option)s.") % {"option": names.get(winner, winner)}
    return Chart(
        key=key,
        title=title,
        svg=svg(key=key, width=width, height=bottom + 12, title=title, desc=desc, body=parts),
        tables=_round_tables(ranked, order=order, names=names),
        note=_tie_notes(rounds, names),
    )


def _header(round_: dict[str, Any], *, x: float, width: float, names: dict) -> list:
    parts = [text(_("Round %(n)d") % {"n": round_["round"]}, x=x, y=14, weight="bold")]
    if round_["elected"] is not None:
        words = "★ " + _("elected: %(option)s") % {"option": names[round_["elected"]]}
        parts.append(label(words, x=x, y=35, width=width, lines=2, css="irv-elected"))
    elif round_["eliminated"]:
        gone = ", ".join(names.get(o, str(o)) for o in round_["eliminated"])
        words = "✕ " + _("out: %(options)s") % {"options": gone}
        parts.append(label(words, x=x, y=35, width=width, lines=2, css="irv-eliminated"))
    return parts


def _bar(
    round_: dict[str, Any],
    *,
    option: int | None,
    votes: int,
    x: float,
    y: float,
    height: float,
    fill: str,
    name: str,
    last: bool,
) -> Any:
    eliminated = option in round_["eliminated"]
    share = f" ({percent(votes / round_['continuing'])})" if option and round_["continuing"] else ""
    tooltip = _("Round %(n)d, %(option)s: %(votes)s") % {
        "n": round_["round"],
        "option": name,
        "votes": f"{votes}{share}",
    }
    if eliminated:
        tooltip += " — " + _("eliminated")
    parts = [
        el("title", {}, tooltip),
        el(
            "rect",
            {
                "class": "irv-bar" + (" irv-bar--eliminated" if eliminated else ""),
                "data-round": round_["round"],
                "data-option": "" if option is None else option,
                "data-votes": votes,
                "x": x,
                "y": y,
                "width": BAR,
                "height": max(height, 1),
                "fill": fill,
                "stroke": ELIMINATED if eliminated else None,
                "stroke-width": 2 if eliminated else None,
            },
        ),
    ]
    if eliminated:
        parts.append(
            text(
                "✕",
                x=x + BAR / 2,
                y=y + max(height, MIN_SLOT) / 2 + FONT * 0.35,
                anchor="middle",
                css="irv-cross",
                weight="bold",
            )
        )
    words = str(votes) if option is not None else _("exhausted %(n)s") % {"n": votes}
    if last or option is None:
        parts.append(
            text(
                words, x=x + BAR + 4, y=y + max(height, MIN_SLOT) / 2 + FONT * 0.35, css="irv-votes"
            )
        )
    else:
        parts.append(
            text(
                words,
                x=x - 4,
                y=y + max(height, MIN_SLOT) / 2 + FONT * 0.35,
                anchor="end",
                css="irv-votes",
            )
        )
    return el("g", {"class": "irv-option"}, *parts)


def _flows(
    round_: dict[str, Any],
    here: dict[int | None, tuple[float, float]],
    there: dict[int | None, tuple[float, float]],
    x1: float,
    x2: float,
    *,
    scale: float,
    colors: dict[int | None, str],
    names: dict[int | None, str],
) -> list:
    """Bands from round ``round_`` to the next: what each option keeps, then the transfers out
    of the eliminated options, stacked under what their receivers kept."""
    filled: dict[int | None, float] = {}
    parts = []
    for option, (y2, _height) in there.items():
        if option in round_["eliminated"] or option not in here:
            continue
        kept = here[option][1]
        filled[option] = kept
        if kept > 0:
            parts.append(
                el(
                    "path",
                    {
                        "class": "irv-keep",
                        "d": _band(x1 + BAR, here[option][0], x2, y2, kept),
                        "fill": colors[option],
                        "fill-opacity": 0.18,
                    },
                )
            )
    taken: dict[int | None, float] = {}
    for transfer in round_["transfers"]:
        source, target = transfer["from"], transfer["to"]
        if source not in here or target not in there:
            continue
        height = transfer["votes"] * scale
        y1 = here[source][0] + taken.get(source, 0.0)
        y2 = there[target][0] + filled.get(target, 0.0)
        taken[source] = taken.get(source, 0.0) + height
        filled[target] = filled.get(target, 0.0) + height
        parts.append(
            el(
                "path",
                {
                    "class": "irv-transfer",
                    "data-from": source,
                    "data-to": "" if target is None else target,
                    "data-votes": transfer["votes"],
                    "d": _band(x1 + BAR, y1, x2, y2, height),
                    "fill": colors[source],
                    "fill-opacity": 0.5,
                },
                el(
                    "title",
                    {},
                    _("%(votes)s ballots from %(from)s to %(to)s")
                    % {"votes": transfer["votes"], "from": names[source], "to": names[target]},
                ),
            )
        )
    return parts


def _round_tables(ranked: dict[str, Any], *, order: list[int], names: dict) -> list[Table]:
    rounds = ranked["rounds"]
    header = [_("Option")] + [_("Round %(n)d") % {"n": r["round"]} for r in rounds]
    rows: list[list[object]] = []
    for option in order:
        line: list[object] = [names[option]]
        for round_ in rounds:
            votes = {row["id"]: row["votes"] for row in round_["tallies"]}
            if option not in votes:
                line.append("")
            elif option in round_["eliminated"]:
                line.append(f"{votes[option]} ✕")
            elif option == round_["elected"]:
                line.append(f"{votes[option]} ★")
            else:
                line.append(votes[option])
        rows.append(line)
    rows.append([_("exhausted")] + [r["exhausted"] for r in rounds])
    transfers = Table(
        caption=_("Transfers between rounds"),
        header=[_("Round"), _("From"), _("To"), _("Ballots")],
        rows=[
            [r["round"], names[t["from"]], names[t["to"]], t["votes"]]
            for r in rounds
            for t in r["transfers"]
        ],
    )
    return [
        Table(caption=_("Votes per round (✕ eliminated, ★ elected)"), header=header, rows=rows),
        transfers,
    ]


def _tie_break(rule: str) -> str:
    return {
        "previous_rounds": _("the earlier rounds' tallies"),
        "borda": _("the Borda count"),
        "position": _("the options' order on the ballot"),
    }.get(rule, rule)


def _tie_notes(rounds: list[dict[str, Any]], names: dict) -> str:
    notes = [
        _("Round %(n)d: a tie, broken by %(rule)s.")
        % {"n": r["round"], "rule": _tie_break(r["tie_break"])}
        for r in rounds
        if r.get("tie_break")
    ]
    return " ".join(notes)


def ranking_tables(document: dict[str, Any]) -> Chart:
    """The Borda points and the pairwise contests (each row's option against each column's)."""
    ranked = document["ranked"]
    names = _names(document)
    borda = Table(
        caption=_("Borda count"),
        header=[_("Option"), _("Points")],
        rows=[
            [names[row["id"]], row["points"]]
            for row in sorted(ranked["borda"], key=lambda row: -row["points"])
        ],
    )
    order = [row["id"] for row in ranked["pairwise"]]
    rows = []
    for row in ranked["pairwise"]:
        against = {entry["id"]: entry for entry in row["against"]}
        cells: list[object] = [names[row["id"]]]
        for other in order:
            entry = against.get(other)
            cells.append("" if entry is None else f"{entry['wins']} : {entry['losses']}")
        rows.append(cells)
    pairwise = Table(
        caption=_("Pairwise contests: ballots preferring the row's option : the column's"),
        header=[_("Option"), *(names[option] for option in order)],
        rows=rows,
    )
    condorcet = ranked.get("condorcet_winner")
    note = (
        _("Beats every other option head to head (Condorcet winner): %(option)s.")
        % {"option": names[condorcet]}
        if condorcet is not None
        else _("No option beats every other head to head.")
    )
    return Chart(
        key="ranking",
        title=_("Borda count and pairwise contests"),
        svg=None,
        tables=[borda, pairwise],
        note=note,
    )


def ranked_charts(document: dict[str, Any]) -> list[Chart]:
    out = []
    if document["ranked"].get("rounds"):
        out.append(irv_chart(document))
    if document["ranked"].get("borda") or document["ranked"].get("pairwise"):
        out.append(ranking_tables(document))
    return out
