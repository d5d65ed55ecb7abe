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
from voting import eligibility
from voting.models import Poll

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


class BreakdownSerializer(serializers.Serializer[Any]):
    gu = DistrictCellSerializer(many=True)
    age_band = AgeCellSerializer(many=True)
    gender = GenderCellSerializer(many=True)


class ResultsSerializer(serializers.Serializer[Any]):
    poll = serializers.IntegerField()
    status = serializers.ChoiceField(choices=POLL_STATUSES)
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
