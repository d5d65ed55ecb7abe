"""Published results: totals, shares and breakdowns, with small cells suppressed.

Every number that leaves the system — API, admin, CSV, live stream — is built here, so the
suppression rule is applied in exactly one place.

Suppression: a breakdown number below ``RESULTS_MIN_CELL`` (5) is withheld. Where only one
number of a group would be withheld, the next smallest is withheld too, since the total minus the
shown numbers would give the hidden one away.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from districts.models import District
from voting.models import Option, Poll
from voting.tallies import UNKNOWN, Counts, Tally

DIMENSIONS = (("gu", "gu"), ("age", "age_band"), ("gender", "gender"))


def suppress(values: Mapping[Any, int], *, min_cell: int | None = None) -> dict[Any, int | None]:
    """Withhold small numbers, and one more where a single withheld one could be derived."""
    threshold = settings.RESULTS_MIN_CELL if min_cell is None else min_cell
    shown: dict[Any, int | None] = dict(values)
    hidden = [key for key, value in values.items() if value < threshold]
    if len(hidden) == 1 and len(values) > 1:
        # Complementary suppression: hide the smallest of the rest as well.
        rest = sorted((value, str(key), key) for key, value in values.items() if key != hidden[0])
        hidden.append(rest[0][2])
    for key in hidden:
        shown[key] = None
    return shown


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
    return {"gender": value}


def build(poll: Poll, tally: Tally, options: list[Option] | None = None) -> dict:
    """The results document for ``poll``: what the API, the admin and the CSV show."""
    options = list(poll.options.all()) if options is None else options
    total = tally.overall.ballots
    gu_codes = [code for code in tally.breakdown.get("gu", {}) if code != UNKNOWN]
    districts = District.objects.in_bulk(gu_codes) if gu_codes else {}
    return {
        "poll": poll.pk,
        "status": poll.status,
        "total": total,
        "options": [
            {
                "id": option.pk,
                "label": option.label,
                "votes": tally.overall.votes.get(option.pk, 0),
                "share": _share(tally.overall.votes.get(option.pk, 0), total),
            }
            for option in options
        ],
        "breakdown": {
            name: _breakdown(dimension, tally.breakdown.get(dimension, {}), options, districts)
            for dimension, name in DIMENSIONS
        },
    }


def _breakdown(
    dimension: str,
    cells: Mapping[str, Counts],
    options: list[Option],
    districts: Mapping[str, District],
) -> list[dict]:
    cells = {value: counts for value, counts in cells.items() if counts.ballots}
    totals = suppress({value: counts.ballots for value, counts in cells.items()})
    out = []
    for value in sorted(cells, key=lambda v: (v == UNKNOWN, v.zfill(11))):
        counts = cells[value]
        cell_total = totals[value]
        if cell_total is None:
            option_votes: dict[int, int | None] = {option.pk: None for option in options}
        else:
            option_votes = suppress(
                {option.pk: counts.votes.get(option.pk, 0) for option in options}
            )
        out.append(
            {
                **_cell_label(dimension, value, districts),
                "total": cell_total,
                "suppressed": cell_total is None,
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
