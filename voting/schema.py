"""OpenAPI components of voting answers the views build as plain dicts (results, refusals).

These serializers never serialize anything: they describe, for drf-spectacular and the apps'
generated clients, what ``voting.results.build`` and the ballot's refusals send. The contract
tests (tests/core/test_openapi_schema.py, tests/security/test_schema_fuzz.py) validate real
answers against them with every object closed, so a key added to the dicts without its field
here fails there.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.schema import ErrorSerializer
from voting import eligibility, ranked
from voting.models import Poll
from voting.weighting import SEXES, RefusalReason

# Only published polls have results, so never "draft".
POLL_STATUSES = [Poll.Status.OPEN.value, Poll.Status.UPCOMING.value, Poll.Status.CLOSED.value]


class ResultOptionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    # Shadows Field.label for the type checker only: DRF moves declared fields out of the class.
    label = serializers.CharField()  # type: ignore[assignment]
    votes = serializers.IntegerField(allow_null=True, help_text="null while totals are withheld")
    share = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="votes / total, rounded to 4 places; null while totals are withheld",
    )


class CellOptionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    votes = serializers.IntegerField(
        allow_null=True, help_text="null when withheld (too few to publish, or would give one away)"
    )
    suppressed = serializers.BooleanField(help_text="true exactly when votes is null")


class _CellSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField(help_text="Ballots in this cell (at least batch_min).")
    suppressed = serializers.BooleanField(
        help_text="Always false: cells too small to publish are not listed at all."
    )
    options = CellOptionSerializer(many=True)


class DistrictCellSerializer(_CellSerializer):
    code = serializers.CharField(allow_null=True, help_text="The gu's code; null: unknown")
    name = serializers.CharField()


class AgeCellSerializer(_CellSerializer):
    band = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        max_value=80,
        help_text="Decade of age (0, 10, … 80 meaning 80 and over); null: unknown",
    )
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="e.g. 30s, 80+ (in the request's language)"
    )


class GenderCellSerializer(_CellSerializer):
    gender = serializers.ChoiceField(choices=["female", "male", "other", "undisclosed", "unknown"])


class ChannelCellSerializer(_CellSerializer):
    channel = serializers.ChoiceField(
        choices=["app", "assisted", "onsite"],
        help_text="How the ballots reached the box: the app, the call centre, or on site",
    )


class BreakdownSerializer(serializers.Serializer[Any]):
    gu = DistrictCellSerializer(many=True)
    age_band = AgeCellSerializer(many=True)
    gender = GenderCellSerializer(many=True)
    channel = ChannelCellSerializer(many=True)


# --- Ranked and score questions (voting/ranked.py, voting/scored.py) -----------------------------


class RankedShareSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    votes = serializers.IntegerField(min_value=0)
    share = serializers.FloatField(min_value=0, max_value=1, help_text="rounded to 4 places")


class TransferSerializer(serializers.Serializer[Any]):
    """Ballots of the option eliminated in a round, moved on to their next choice still in."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the fields cannot be declared as class attributes.
        return {
            "from": serializers.IntegerField(help_text="The eliminated option."),
            "to": serializers.IntegerField(
                allow_null=True,
                help_text="The next option these ballots rank that is still in; null: exhausted.",
            ),
            "votes": serializers.IntegerField(min_value=1),
        }


class RoundSerializer(serializers.Serializer[Any]):
    round = serializers.IntegerField(min_value=1)
    continuing = serializers.IntegerField(
        min_value=0, help_text="Ballots counting for an option still in."
    )
    exhausted = serializers.IntegerField(
        min_value=0, help_text="Ballots every option of which has been eliminated."
    )
    tallies = RankedShareSerializer(
        many=True, help_text="The options still in, in the poll's order; share of continuing."
    )
    eliminated = serializers.ListField(
        child=serializers.IntegerField(), help_text="Empty in the round that elects."
    )
    elected = serializers.IntegerField(allow_null=True)
    tie_break = serializers.ChoiceField(
        choices=list(ranked.TIE_BREAKS),
        allow_null=True,
        help_text=(
            "The rule that chose between options tied for fewest votes: fewest votes in the "
            "previous rounds, then the lower Borda score, then the option listed last. "
            "null: no tie."
        ),
    )
    transfers = TransferSerializer(many=True)


class BordaPointsSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    points = serializers.IntegerField(
        min_value=0, help_text="Truncated Borda: n − 1 − position (from 0) per ballot ranking it."
    )


class HeadToHeadSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The other option.")
    wins = serializers.IntegerField(min_value=0, help_text="Ballots ranking this one above it.")
    losses = serializers.IntegerField(min_value=0, help_text="Ballots ranking it above this one.")


class PairwiseRowSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    against = HeadToHeadSerializer(many=True)


class RankedResultsSerializer(serializers.Serializer[Any]):
    max_rank = serializers.IntegerField(
        min_value=1, help_text="How many options a ballot may rank."
    )
    first_preferences = RankedShareSerializer(many=True, help_text="Share of all ballots.")
    rounds = RoundSerializer(many=True, help_text="Instant runoff, one elimination per round.")
    winner = serializers.IntegerField(allow_null=True)
    borda = BordaPointsSerializer(many=True)
    pairwise = PairwiseRowSerializer(many=True)
    condorcet_winner = serializers.IntegerField(
        allow_null=True, help_text="The option beating every other head to head; null: none."
    )


class ScoreCountSerializer(serializers.Serializer[Any]):
    score = serializers.IntegerField()
    ballots = serializers.IntegerField(min_value=0)


class OptionScoresSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    raters = serializers.IntegerField(min_value=0, help_text="Ballots scoring the option.")
    abstentions = serializers.IntegerField(
        min_value=0, help_text="Ballots leaving it unscored (never counted as a score)."
    )
    mean = serializers.FloatField(allow_null=True, help_text="Rounded to 4 places; null: no rater.")
    median = serializers.FloatField(allow_null=True, help_text="null: no rater.")
    distribution = ScoreCountSerializer(many=True, help_text="Every value of the scale.")


class ScoreResultsSerializer(serializers.Serializer[Any]):
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    abstain_allowed = serializers.BooleanField()
    options = OptionScoresSerializer(many=True)


# --- Evidence: weighting and coverage, with final results (voting/evidence.py) ----------------


class EvidenceRefusalSerializer(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=[reason.value for reason in RefusalReason])
    detail = serializers.CharField(help_text="Why, in the request's language.")


class PopulationSourceSerializer(serializers.Serializer[Any]):
    title = serializers.CharField()
    reference_date = serializers.DateField()
    demo = serializers.BooleanField(help_text="true: made-up figures for a demonstration.")


class WeightedOptionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    raw_share = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    weighted_share = serializers.FloatField(
        allow_null=True, min_value=0, max_value=1, help_text="null where withheld"
    )
    margin_of_error = serializers.FloatField(
        allow_null=True, min_value=0, help_text="95%, ± this share; null where withheld"
    )


class WeightedSerializer(serializers.Serializer[Any]):
    ballots = serializers.IntegerField(min_value=0)
    weighted_ballots = serializers.IntegerField(
        min_value=0, help_text="Ballots with a known gu, age band and sex inside the population."
    )
    unknown_ballots = serializers.IntegerField(min_value=0)
    outside_ballots = serializers.IntegerField(min_value=0)
    effective_sample_size = serializers.FloatField(min_value=0)
    design_effect = serializers.FloatField(min_value=0)
    cap = serializers.FloatField(help_text="The largest weight allowed, relative to the mean.")
    trimmed = serializers.BooleanField(help_text="true: some weights were capped.")
    options = WeightedOptionSerializer(many=True)


class _CoverageRowSerializer(serializers.Serializer[Any]):
    population = serializers.IntegerField(allow_null=True, help_text="null: the unknown row")
    participants = serializers.IntegerField(
        allow_null=True, help_text="null where withheld (too few to publish)"
    )
    turnout = serializers.FloatField(allow_null=True, min_value=0)


class CoverageGuSerializer(_CoverageRowSerializer):
    code = serializers.CharField(allow_null=True, help_text="null: unknown")
    name = serializers.CharField()


class CoverageAgeSerializer(_CoverageRowSerializer):
    band = serializers.IntegerField(allow_null=True, min_value=0, max_value=80)
    label = serializers.CharField()  # type: ignore[assignment]


class CoverageSexSerializer(_CoverageRowSerializer):
    sex = serializers.ChoiceField(choices=list(SEXES), allow_null=True, help_text="null: unknown")


class CoverageSerializer(serializers.Serializer[Any]):
    population = serializers.IntegerField(min_value=0, help_text="Residents of the audience.")
    registered = serializers.IntegerField(allow_null=True, min_value=0)
    registered_share = serializers.FloatField(allow_null=True, min_value=0)
    participants = serializers.IntegerField(allow_null=True, min_value=0)
    turnout = serializers.FloatField(allow_null=True, min_value=0)
    turnout_of_registered = serializers.FloatField(allow_null=True, min_value=0)
    gu = CoverageGuSerializer(many=True)
    age_band = CoverageAgeSerializer(many=True)
    sex = CoverageSexSerializer(many=True)


class EvidenceSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["weighted", "refused", "not_applicable"])
    refusal = EvidenceRefusalSerializer(allow_null=True)
    population_source = PopulationSourceSerializer(allow_null=True)
    weighted = WeightedSerializer(allow_null=True)
    coverage = CoverageSerializer(allow_null=True)


class ResultsSerializer(serializers.Serializer[Any]):
    poll = serializers.IntegerField()
    status = serializers.ChoiceField(choices=POLL_STATUSES)
    kind = serializers.ChoiceField(choices=Poll.Kind.choices)
    total = serializers.IntegerField(
        allow_null=True, help_text="Ballots counted; null while withheld (fewer than batch_min)."
    )
    withheld = serializers.BooleanField()
    batch_min = serializers.IntegerField(
        help_text="k: ballots are counted in batches of k or more."
    )
    note = serializers.CharField(allow_null=True, help_text="Why totals are withheld, if they are.")
    options = ResultOptionSerializer(many=True)
    breakdown = BreakdownSerializer(
        help_text="Published once the poll is final; only cells of at least batch_min ballots."
    )
    ranked = RankedResultsSerializer(
        allow_null=True, help_text="Ranked questions; null otherwise and while withheld."
    )
    scores = ScoreResultsSerializer(
        allow_null=True, help_text="Score questions; null otherwise and while withheld."
    )
    evidence = EvidenceSerializer(
        allow_null=True,
        help_text="Weighted shares and coverage, with final results only; null otherwise.",
    )


class EligibilityErrorSerializer(ErrorSerializer):
    """The error body of a refusal that says why the citizen is not in a poll's audience."""

    reason = serializers.ChoiceField(  # type: ignore[assignment]
        # The audience rules only: a poll that is not open is poll_not_open (409).
        choices=[reason for reason in eligibility.REASONS if reason != eligibility.Reason.NOT_OPEN],
        required=False,
        help_text="With not_eligible: the first audience rule the citizen fails.",
    )


NOT_ELIGIBLE_RESPONSE = OpenApiResponse(
    EligibilityErrorSerializer,
    description=(
        "not_eligible (with reason: verification, profile_incomplete, district, group, age) / "
        "permission_denied"
    ),
)
