"""The public board's shapes (voting/board.py): entries, head, totals."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(
    {
        "type": "array",
        "description": (
            "A choice ballot: the sorted option ids it chose; ranked: option ids, most "
            "preferred first; score: [option id, score] pairs"
        ),
        "items": {
            "oneOf": [
                {"type": "integer"},
                {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            ]
        },
    }
)
class BoardBallotField(serializers.ListField):
    pass


class BoardEntrySerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    prev = serializers.CharField()
    trackers = serializers.ListField(child=serializers.CharField())
    ballots = serializers.ListField(child=BoardBallotField())
    channels = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        allow_null=True,
        help_text=(
            "The batch's ballots per channel (app, assisted, onsite), hashed with the entry; "
            "null on entries written before channels were recorded"
        ),
    )
    hash = serializers.CharField()
    signature = serializers.CharField()


class BoardHeadSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    hash = serializers.CharField()
    signature = serializers.CharField()


class BoardTotalsSerializer(serializers.Serializer):
    ballots = serializers.IntegerField()
    options = serializers.DictField(child=serializers.IntegerField())


class BoardSerializer(serializers.Serializer):
    poll = serializers.IntegerField()
    verify_key = serializers.CharField(help_text="The city's Ed25519 public key (hex).")
    batch_min = serializers.IntegerField()
    entries = BoardEntrySerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The next page, if any.")
    head = BoardHeadSerializer(allow_null=True)
    totals = BoardTotalsSerializer()
