"""The evidence beside a poll's final results: weighted shares, margins of error and coverage.

Computed once, when the counter finalizes a poll (voting/counting.py), from the counted ballots
per joint cell (gu × age band × sex) that only its sealed accumulator holds, and stored in
``CountState.evidence``; the accumulator is erased right after. ``document`` writes what is
stored: language-neutral figures, codes and reasons, and no joint cell — only the engine's
(voting/weighting.py) poll-level figures and coverage's (voting/coverage.py) rows per gu, per age
band and per sex. ``for_results`` turns the stored document into the results document's
"evidence" (docs/evidence.md): gu names, age labels and the refusal's sentence, in the reader's
language.

The audience's population is the latest population table's residents of the poll's gu (a
city-wide poll: every gu), restricted to its ages. It is refused, with the reason said, for an
audience the table cannot count: set by dong (the table is by gu), or by citizen groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import translation
from django.utils.translation import gettext as _

from districts.models import District, PopulationCell, PopulationTable

# The module, not the name: voting/counting.py imports this one to call ``document`` at finalize.
from voting import counting, eligibility
from voting.coverage import CoverageRow, coverage, population_by_band
from voting.models import Poll
from voting.weighting import (
    Cell,
    CellCounts,
    Refusal,
    RefusalReason,
    Weighted,
    policy_from_settings,
    weight_results,
)

VERSION = 1
# Kinds whose results are shares of ballots: single and multiple choice, ranked first preferences.
WEIGHTED_KINDS = ("single", "multiple", "ranked")

# Why no population covers the audience (``refusal["cause"]``, reason ``no_population``).
NO_TABLE, BY_DONG, BY_GROUP, GU_MISSING, NO_RESIDENTS = (
    "no_table",
    "dong",
    "groups",
    "gu_missing",
    "no_residents",
)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --- At finalize: the stored document ----------------------------------------------------------


def _audience_gu(*, poll: Poll, all_gu: Sequence[str]) -> tuple[list[str], list[str]]:
    """(gu codes, dong codes not covered by a gu of the audience). No districts, or the city
    among them: every gu. A dong inside a chosen gu adds nothing; any other dong is a part of a
    gu the table cannot count."""
    chosen = list(poll.districts.all())
    if not chosen or any(d.level == District.Level.CITY for d in chosen):
        return list(all_gu), []
    gu = sorted({d.code for d in chosen if d.level == District.Level.GU})
    dong = sorted(
        d.code for d in chosen if d.level == District.Level.DONG and d.parent_id not in gu
    )
    return gu, dong


def _population(
    *, poll: Poll, table: PopulationTable
) -> tuple[dict[Cell, float] | None, dict[str, Any] | None]:
    """The audience's residents per cell in the results' age bands, or (None, why not)."""
    if poll.groups.exists():
        return None, {"cause": BY_GROUP}
    all_gu = list(
        District.objects.filter(level=District.Level.GU, is_active=True).values_list(
            "code", flat=True
        )
    )
    gu, dong = _audience_gu(poll=poll, all_gu=all_gu)
    if dong:
        return None, {"cause": BY_DONG, "areas": dong}
    rows = PopulationCell.objects.filter(table=table, district_id__in=gu).values_list(
        "district_id", "age_from", "sex", "population"
    )
    cells = {(code, age_from, sex): float(n) for code, age_from, sex, n in rows}
    missing = sorted(set(gu) - {code for code, _age, _sex in cells})
    if missing:
        return None, {"cause": GU_MISSING, "areas": missing}
    population = population_by_band(cells=cells, min_age=poll.min_age, max_age=poll.max_age)
    if not population:
        return None, {"cause": NO_RESIDENTS}
    return population, None


def _publishable(rows: Sequence[CoverageRow], *, total: int | None) -> list[CoverageRow]:
    """Coverage's rows with the breakdown's rule on top (voting/counting.py
    ``publishable_cells``): besides each shown row being at least k, what the shown rows leave of
    the ``total`` is nothing or at least k — so no group below k is the total minus the others
    (coverage alone hides two small rows, and shows their sum so)."""
    if total is None:
        return list(rows)  # every row is withheld already
    counts = {str(row.value): row.participants for row in rows if row.participants}
    shown = set(counting.publishable_cells(counts, total=total))
    return [
        CoverageRow(row.value, row.population, None, None)
        if row.participants and str(row.value) not in shown
        else row
        for row in rows
    ]


def _coverage(
    *, sample: Mapping[Cell, CellCounts], population: Mapping[Cell, float], registered: int
) -> dict[str, Any]:
    minimum = settings.BALLOT_BATCH_MIN
    found = coverage(
        participants={cell: counts.ballots for cell, counts in sample.items()},
        population=population,
        registered=registered,
        minimum=minimum,
    )

    def rows(key: str, margin: Sequence[CoverageRow]) -> list[dict[str, Any]]:
        return [
            {
                key: row.value,
                "population": None if row.population is None else round(row.population),
                "participants": row.participants,
                "turnout": row.turnout,
            }
            for row in _publishable(margin, total=found.participants)
        ]

    return {
        "population": round(found.population),
        "registered": found.registered,
        "registered_share": found.registered_share,
        "participants": found.participants,
        "turnout": found.turnout,
        "turnout_of_registered": found.turnout_of_registered,
        "gu": rows("code", found.gu),
        "age_band": rows("band", found.age_band),
        "sex": rows("sex", found.sex),
    }


def _weighted(result: Weighted) -> dict[str, Any]:
    return {
        "ballots": result.ballots,
        "weighted_ballots": result.weighted_ballots,
        "unknown_ballots": result.unknown_ballots,
        "outside_ballots": result.outside_ballots,
        "effective_sample_size": round(result.effective_sample_size, 1),
        "design_effect": round(result.design_effect, 3),
        "cap": result.cap,
        "trimmed": result.trimmed,
        "options": [
            {
                "id": figures.option_id,
                "raw_share": _round(figures.raw_share, 4),
                "weighted_share": _round(figures.weighted_share, 4),
                "margin_of_error": _round(figures.margin_of_error, 4),
            }
            for figures in result.options
        ],
    }


def _refusal(refusal: Refusal) -> dict[str, Any]:
    return {
        "reason": str(refusal.reason),
        "ballots": refusal.ballots,
        "weightable_ballots": refusal.weightable_ballots,
        "min_ballots": refusal.min_ballots,
        "margin": refusal.margin,
        "category": refusal.category,
        "largest_margin_gap": refusal.largest_margin_gap,
        "cap": refusal.cap,
    }


def document(*, poll: Poll, sample: Mapping[Cell, CellCounts]) -> dict[str, Any]:
    """The evidence of ``poll``'s final count (stored once in ``CountState.evidence``).

    ``sample``: every counted ballot by joint cell (unknown parts ``None``), its votes as the
    breakdown counts them (ranked: first preferences). The document holds no joint cell.
    """
    table = PopulationTable.objects.order_by("-reference_date").first()
    population: dict[Cell, float] | None = None
    why_not: dict[str, Any] | None = {"cause": NO_TABLE}
    if table is not None:
        population, why_not = _population(poll=poll, table=table)
    ballots = sum(counts.ballots for counts in sample.values())
    stored: dict[str, Any] = {
        "version": VERSION,
        "status": "not_applicable",
        "refusal": None,
        "population_source": None
        if table is None
        else {
            "title": table.source,
            "reference_date": table.reference_date.isoformat(),
            "demo": table.is_demo,
        },
        "weighted": None,
        "coverage": None,
    }
    if population is not None:
        registered = eligibility.audience_estimate(poll)["registered"]
        stored["coverage"] = _coverage(sample=sample, population=population, registered=registered)
    if poll.kind not in WEIGHTED_KINDS:
        return stored
    if population is None:
        stored["status"] = "refused"
        stored["refusal"] = {
            **_refusal(Refusal(reason=RefusalReason.NO_POPULATION, ballots=ballots)),
            **(why_not or {}),
        }
        return stored
    result = weight_results(
        sample=sample,
        population=population,
        option_ids=[option.pk for option in poll.options.all()],
        multiple_choice=poll.kind == Poll.Kind.MULTIPLE,
        policy=policy_from_settings(),
    )
    if isinstance(result, Refusal):
        stored["status"] = "refused"
        stored["refusal"] = _refusal(result)
    else:
        stored["status"] = "weighted"
        stored["weighted"] = _weighted(result)
    return stored


# --- When read: the results document's "evidence" ----------------------------------------------


def age_label(band: int | None) -> str:
    """An age band's label, as the results' breakdown writes it (voting/results.py)."""
    if band is None:
        return _("unknown")
    return _("%(band)d+") % {"band": band} if band >= 80 else _("%(band)ds") % {"band": band}


def _category_label(margin: str | None, category: Any, districts: Mapping[str, District]) -> Any:
    if margin == "gu" and category in districts:
        return districts[category].name
    if margin == "age_band" and isinstance(category, int):
        return age_label(category)
    if margin == "sex" and isinstance(category, str):
        return {"female": _("female"), "male": _("male")}.get(category, category)
    return category


def refusal_detail(refusal: Mapping[str, Any], *, districts: Mapping[str, District]) -> str:
    """The sentence saying why there are no weighted figures, in the active language."""
    reason = RefusalReason(refusal["reason"])
    cause = refusal.get("cause")
    areas = ", ".join(
        districts[code].name if code in districts else code for code in refusal.get("areas", [])
    )
    if reason == RefusalReason.NO_POPULATION:
        if cause == NO_TABLE:
            return _(
                "No population table has been imported, so the results cannot be weighted to "
                "the audience's population."
            )
        if cause == BY_DONG:
            return _(
                "The poll's audience is set by dong (%(areas)s), but the population table counts "
                "residents by gu only: neither weights nor turnout can be worked out for part of "
                "a gu."
            ) % {"areas": areas}
        if cause == BY_GROUP:
            return _(
                "The poll is open to members of citizen groups only, and no population table "
                "counts a group's members: the results cannot be weighted."
            )
        if cause == GU_MISSING:
            return _(
                "The population table has no residents for %(areas)s, part of the poll's "
                "audience: the results cannot be weighted."
            ) % {"areas": areas}
    if reason == RefusalReason.TOO_FEW_BALLOTS and not refusal.get("ballots"):
        return _("No ballots were counted, so there is nothing to weight.")
    return Refusal(
        reason=reason,
        weightable_ballots=refusal.get("weightable_ballots") or 0,
        min_ballots=refusal.get("min_ballots") or 0,
        margin=refusal.get("margin"),
        category=_category_label(refusal.get("margin"), refusal.get("category"), districts),
        largest_margin_gap=refusal.get("largest_margin_gap"),
        cap=refusal.get("cap"),
    ).detail


def _districts_named(stored: Mapping[str, Any]) -> dict[str, District]:
    codes = {row["code"] for row in (stored.get("coverage") or {}).get("gu", []) if row["code"]}
    refusal = stored.get("refusal") or {}
    codes |= set(refusal.get("areas", []))
    if refusal.get("margin") == "gu" and refusal.get("category"):
        codes.add(refusal["category"])
    return District.objects.in_bulk(sorted(codes)) if codes else {}


def for_results(
    stored: Mapping[str, Any] | None, *, content_language: str | None = None
) -> dict[str, Any] | None:
    """The results document's "evidence" from the stored one (``None``: none stored, e.g. a poll
    not final yet): names, labels and the refusal's sentence in ``content_language`` (by default
    the active language). One query, for the gu names, where there are any."""
    if stored is None:
        return None
    language = translation.override(content_language) if content_language else nullcontext()
    with language:
        districts = _districts_named(stored)
        refusal = stored.get("refusal")
        found = stored.get("coverage")
        return {
            "status": stored["status"],
            "refusal": None
            if refusal is None
            else {
                "reason": refusal["reason"],
                "detail": refusal_detail(refusal, districts=districts),
            },
            "population_source": stored.get("population_source"),
            "weighted": stored.get("weighted"),
            "coverage": None if found is None else _named_coverage(found, districts),
        }


def _named_coverage(found: Mapping[str, Any], districts: Mapping[str, District]) -> dict:
    unknown = _("unknown")
    return {
        **{key: value for key, value in found.items() if key not in ("gu", "age_band", "sex")},
        "gu": [
            {
                "code": row["code"],
                "name": districts[row["code"]].name if row["code"] in districts else unknown,
                **_figures(row),
            }
            for row in found["gu"]
        ],
        "age_band": [
            {"band": row["band"], "label": age_label(row["band"]), **_figures(row)}
            for row in found["age_band"]
        ],
        "sex": [{"sex": row["sex"], **_figures(row)} for row in found["sex"]],
    }


def _figures(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("population", "participants", "turnout")}


def stored_of(poll: Poll) -> dict[str, Any] | None:
    """The evidence stored at ``poll``'s final count; ``None`` before it (evidence is published
    with the final results only) or where none was computed. Reads ``poll.count_state``: no query
    where the caller loaded it with the poll (``select_related("count_state")``), else one."""
    try:
        state = poll.count_state
    except ObjectDoesNotExist:
        return None
    return state.evidence if state.final else None


def published(poll: Poll, *, content_language: str | None = None) -> dict[str, Any] | None:
    """What ``results.build`` gets as ``evidence=`` for ``poll``."""
    return for_results(stored_of(poll), content_language=content_language)
