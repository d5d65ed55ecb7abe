"""Published results: totals, shares and breakdowns, with small numbers withheld.

Every number that leaves the system — API, admin, CSV, live stream, board — is built from the
counters the counter writes (voting/counting.py), and the document is built here, so the rules
are applied in exactly one place:

- Totals move only in whole batches of at least ``BALLOT_BATCH_MIN`` (k) ballots. Until the first
  batch is counted — and for good where the whole turnout stays below k — there are no totals at
  all: ``"withheld": true``, every number null.
- Breakdowns appear once the poll is final, and list only the cells the counter published (at
  least k ballots each, and never a single withheld remainder below k); cells not published are
  not listed at all, since even their existence is information.
- Within a listed cell, an option's votes below ``RESULTS_MIN_CELL`` (5) are withheld.

Where only one
number of a group would be withheld, the next smallest is withheld too, since the total minus the
shown numbers would give the hidden one away. An option's votes across the cells of a breakdown
add up to its published total just as a cell's votes add up to the cell's total, so the same rule
is applied to both, the rows and the columns of the table, until neither gives anything away.

Ranked and score questions add a "ranked" or "scores" section (voting/ranked.py, voting/scored.py)
computed from overall counters published with the totals, so null exactly when the totals are.
"""

from collections.abc import Mapping

from django.conf import settings
from django.utils.translation import gettext as _

from districts.models import District
from voting import bilingual, ranked, scored
from voting.models import Option, Poll
from voting.tallies import UNKNOWN, Counts, Tally

DIMENSIONS = (("gu", "gu"), ("age", "age_band"), ("gender", "gender"), ("channel", "channel"))


def _suppress_table(
    table: Mapping[str, Mapping[int, int]], *, withheld_rows: set[str]
) -> dict[str, dict[int, int | None]]:
    """Withhold a table's small numbers (and whole ``withheld_rows``) so none can be derived.

    Each row (a cell's votes per option) and each column (an option's votes per cell; they add
    up to the option's published total) gets ``suppress``'s rule: where exactly one number of a
    line is withheld, the smallest shown one beside it is withheld too. Withholding in a row can
    expose a column and the other way round, so this repeats until nothing changes.
    """
    threshold = settings.RESULTS_MIN_CELL
    rows = list(table)
    columns = list(next(iter(table.values()), {}))
    hidden = {
        (row, column)
        for row in rows
        for column in columns
        if row in withheld_rows or table[row][column] < threshold
    }
    lines = [[(row, column) for column in columns] for row in rows]
    lines += [[(row, column) for row in rows] for column in columns]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if len(line) < 2 or sum(cell in hidden for cell in line) != 1:
                continue
            smallest = min(
                (cell for cell in line if cell not in hidden),
                key=lambda cell: (table[cell[0]][cell[1]], str(cell[0]), str(cell[1])),
            )
            hidden.add(smallest)
            changed = True
    return {
        row: {column: None if (row, column) in hidden else table[row][column] for column in columns}
        for row in rows
    }


def _share(votes: int | None, total: int) -> float | None:
    if votes is None:
        return None
    return round(votes / total, 4) if total else 0.0


def _cell_label(dimension: str, value: str, districts: Mapping[str, District]) -> dict:
    if dimension == "gu":
        district = districts.get(value)
        name = district.name if district else _("unknown")
        return {"code": None if value == UNKNOWN else value, "name": name}
    if dimension == "age":
        if value == UNKNOWN:
            return {"band": None, "label": _("unknown")}
        band = int(value)
        label = _("%(band)d+") % {"band": band} if band >= 80 else _("%(band)ds") % {"band": band}
        return {"band": band, "label": label}
    if dimension == "channel":
        return {"channel": value}
    return {"gender": value}


def build(
    poll: Poll,
    tally: Tally,
    options: list[Option] | None = None,
    *,
    content_language: str | None = None,
    evidence: dict | None = None,
) -> dict:
    """The results document for ``poll``: what the API, the admin and the CSV show. Options'
    labels are in ``content_language`` (by default the active language): the English ones where
    officials wrote them (voting/bilingual.py). ``evidence``: the weighting and coverage document
    (voting/evidence.py), passed by callers only where it is published (final results)."""
    options = list(poll.options.all()) if options is None else options
    total = tally.overall.ballots
    withheld = total == 0
    gu_codes = [code for code in tally.breakdown.get("gu", {}) if code != UNKNOWN]
    districts = District.objects.in_bulk(gu_codes) if gu_codes else {}
    minimum = settings.BALLOT_BATCH_MIN
    return {
        "poll": poll.pk,
        "status": poll.status,
        "kind": poll.kind,
        "total": None if withheld else total,
        "withheld": withheld,
        "batch_min": minimum,
        "note": (
            _("Fewer than %(k)d ballots counted: totals appear once at least %(k)d are.")
            % {"k": minimum}
            if withheld
            else None
        ),
        "options": [
            {
                "id": option.pk,
                "label": bilingual.localized(
                    option.label, option.label_en, language=content_language
                ),
                "votes": None if withheld else tally.overall.votes.get(option.pk, 0),
                "share": None if withheld else _share(tally.overall.votes.get(option.pk, 0), total),
            }
            for option in options
        ],
        "breakdown": {
            name: _breakdown(dimension, tally.breakdown.get(dimension, {}), options, districts)
            for dimension, name in DIMENSIONS
        },
        # Like the totals, these come from overall counters of whole batches: none while withheld.
        "ranked": None if withheld else _ranked(poll, tally, options),
        "scores": None if withheld else _scores(poll, tally, options),
        "evidence": evidence,
    }


def _ranked(poll: Poll, tally: Tally, options: list[Option]) -> dict | None:
    if poll.kind != Poll.Kind.RANKED:
        return None
    ids = [option.pk for option in options]
    return ranked.section(
        ranks=tally.ranks,
        pairs=tally.pairs,
        orders=tally.orders,
        ballots=tally.overall.ballots,
        options=ids,
        max_rank=min(poll.max_choices, len(ids)),
    )


def _scores(poll: Poll, tally: Tally, options: list[Option]) -> dict | None:
    if poll.kind != Poll.Kind.SCORE:
        return None
    return scored.section(
        scores=tally.scores,
        ballots=tally.overall.ballots,
        options=[option.pk for option in options],
        minimum=poll.score_min,
        maximum=poll.score_max,
        abstain_allowed=poll.score_abstain,
    )


def _breakdown(
    dimension: str,
    cells: Mapping[str, Counts],
    options: list[Option],
    districts: Mapping[str, District],
) -> list[dict]:
    # Only the cells the counter published are here, each of at least k ballots (no cell is
    # withheld whole, so none is listed as withheld).
    cells = {value: counts for value, counts in cells.items() if counts.ballots}
    votes = _suppress_table(
        {
            value: {option.pk: counts.votes.get(option.pk, 0) for option in options}
            for value, counts in cells.items()
        },
        withheld_rows=set(),
    )
    out = []
    # Codes and age bands in numeric order, genders alphabetically; "unknown" last.
    for value in sorted(cells, key=lambda v: (v == UNKNOWN, v.zfill(11) if v.isdigit() else v)):
        option_votes = votes[value]
        out.append(
            {
                **_cell_label(dimension, value, districts),
                "total": cells[value].ballots,
                "suppressed": False,
                "options": [
                    {
                        "id": option.pk,
                        "votes": option_votes[option.pk],
                        "suppressed": option_votes[option.pk] is None,
                    }
                    for option in options
                ],
            }
        )
    return out
