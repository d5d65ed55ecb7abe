"""Baselines for the benchmark (``bench/``), served only under ``bench.settings``.

Neither is product code: they give the benchmark its reference points on the same tables, the same
server layout and the same authentication (``X-Session-Token`` through the project's DRF
authentication classes).

- ``BenchBallotCreateView``: how a typical DRF application would write a ballot endpoint — a
  ``ModelSerializer`` (its ``UniqueTogetherValidator`` comes from the (poll, voter) constraint, one
  SELECT before the INSERT), and a straightforward create: the participation and the sealed
  envelope, as the product writes them. No throttles, no eligibility rules, no idempotency.
- ``NoopView``: authenticates, parses the JSON body and answers ``{"ok": true}``: the framework's
  own ceiling for an authenticated POST.
"""

import hashlib
import secrets

from django.db import transaction
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from voting import sealing
from voting.models import Envelope, Option, Participation


class BenchBallotSerializer(serializers.ModelSerializer):
    voter = serializers.HiddenField(default=serializers.CurrentUserDefault())
    option = serializers.PrimaryKeyRelatedField(queryset=Option.objects.all(), write_only=True)

    class Meta:
        model = Participation
        fields = ["id", "poll", "voter", "option"]

    def validate(self, attrs):
        if attrs["option"].poll_id != attrs["poll"].pk:
            raise serializers.ValidationError({"option": "This option is not in this poll."})
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        option = validated_data.pop("option")
        user = validated_data["voter"]
        participation = Participation.objects.create(
            **validated_data,
            voter_key=hashlib.sha256(f"{user.phone or user.pk}".encode()).hexdigest(),
        )
        district = user.district
        gu = (district.parent_id if district.level == "dong" else district.code) if district else ""
        Envelope.objects.create(
            poll=participation.poll,
            lookup=secrets.token_hex(32),
            sealed=sealing.seal_envelope(
                payload={
                    "p": participation.poll_id,
                    "o": [option.pk],
                    "g": gu,
                    "a": None,
                    "s": user.gender,
                    "t": secrets.token_hex(32),
                },
                max_choices=1,
            ),
        )
        return participation


class BenchBallotCreateView(generics.CreateAPIView):
    serializer_class = BenchBallotSerializer


class NoopView(APIView):
    def post(self, request: Request) -> Response:
        request.data  # noqa: B018 — parse the body, as an endpoint taking JSON does
        return Response({"ok": True})
