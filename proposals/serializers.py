"""What citizens send and read about proposals. No author identity, no supporters: only
whether a proposal is mine and whether I support it."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import StrictCharField, StrictIntegerField
from core.media_api import RenditionSerializer, rendition_list
from districts.api import DistrictRefSerializer
from proposals import selectors
from proposals.models import (
    MAX_DESCRIPTION,
    MAX_DURATION_DAYS,
    MAX_OPTION_LABEL,
    MAX_OPTIONS,
    MAX_TITLE,
    MIN_DURATION_DAYS,
    MIN_OPTIONS,
    Proposal,
    ProposalImage,
)


class ProposalCreateSerializer(serializers.Serializer):
    title = StrictCharField(max_length=MAX_TITLE)
    description = StrictCharField(max_length=MAX_DESCRIPTION, trim_whitespace=False)
    options = serializers.ListField(
        child=StrictCharField(max_length=MAX_OPTION_LABEL),
        min_length=MIN_OPTIONS,
        max_length=MAX_OPTIONS,
        help_text="The answers citizens would choose from (2 to 10, all different)",
    )
    district = StrictCharField(
        required=False,
        allow_null=True,
        min_length=10,
        max_length=10,
        validators=[RegexValidator(r"^[0-9]{10}\Z", _("A gu code has exactly 10 digits."))],
        help_text="Your gu's 10-digit code (a dong's resident proposes for their gu); "
        "null or absent: all of Seoul",
    )
    duration_days = StrictIntegerField(
        min_value=MIN_DURATION_DAYS,
        max_value=MAX_DURATION_DAYS,
        help_text="How many days the poll should run, as the proposer suggests",
    )


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP")
    alt = StrictCharField(max_length=200, help_text="What the image shows, for screen readers")


class ProposalOptionSerializer(serializers.Serializer):
    label = serializers.CharField()
    position = serializers.IntegerField()


class ProposalImageSerializer(serializers.ModelSerializer):
    url = serializers.ImageField(source="image", use_url=True)
    width = serializers.IntegerField(source="image_width", allow_null=True)
    height = serializers.IntegerField(source="image_height", allow_null=True)
    renditions = serializers.SerializerMethodField(
        help_text="Smaller WebP copies for phones, narrowest first (none wider than the image)."
    )

    class Meta:
        model = ProposalImage
        fields = ["id", "url", "alt", "width", "height", "renditions"]

    @extend_schema_field(RenditionSerializer(many=True))
    def get_renditions(self, image: ProposalImage) -> list[dict]:
        return rendition_list(
            file=image.image,
            width=image.image_width,
            height=image.image_height,
            context=self.context,
        )


class ProposalListItemSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    district = serializers.SerializerMethodField()
    support_threshold = serializers.SerializerMethodField()
    supported = serializers.BooleanField(help_text="Whether I support it")
    is_mine = serializers.SerializerMethodField(help_text="Whether I proposed it")
    hidden = serializers.SerializerMethodField(
        help_text="Hidden by officials (only its author still sees it)"
    )
    poll = serializers.IntegerField(
        source="poll_id", allow_null=True, help_text="The poll it became, once accepted"
    )

    class Meta:
        model = Proposal
        fields = [
            "id",
            "title",
            "status",
            "district",
            "support_count",
            "support_threshold",
            "support_deadline",
            "supported",
            "is_mine",
            "hidden",
            "poll",
            "created_at",
        ]
        # Answers only (ProposalCreateSerializer reads): every key is always there, so the
        # schema lists each as required.
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Proposal.Status.values))
    def get_status(self, proposal: Proposal) -> str:
        return selectors.effective_status(proposal, self.context.get("now") or timezone.now())

    @extend_schema_field(DistrictRefSerializer(allow_null=True))
    def get_district(self, proposal: Proposal) -> dict | None:
        if proposal.district_id is None:
            return None
        return {"code": proposal.district.code, "name": proposal.district.name}

    def get_support_threshold(self, proposal: Proposal) -> int:
        return settings.PROPOSAL_SUPPORT_THRESHOLD

    def get_is_mine(self, proposal: Proposal) -> bool:
        user = self.context["request"].user
        return proposal.author_id is not None and proposal.author_id == user.pk

    def get_hidden(self, proposal: Proposal) -> bool:
        return proposal.is_hidden


class ProposalDetailSerializer(ProposalListItemSerializer):
    options = ProposalOptionSerializer(many=True)
    images = ProposalImageSerializer(many=True)
    hidden_reason = serializers.SerializerMethodField(
        help_text="Why officials hid it; shown to its author only"
    )

    class Meta(ProposalListItemSerializer.Meta):
        fields = [
            *ProposalListItemSerializer.Meta.fields,
            "description",
            "options",
            "images",
            "duration_days",
            "reached_threshold_at",
            "decided_at",
            "rejection_reason",
            "hidden_reason",
        ]
        read_only_fields = fields

    def get_hidden_reason(self, proposal: Proposal) -> str | None:
        if not proposal.is_hidden or not self.get_is_mine(proposal):
            return None
        return proposal.hidden_reason


class SupportResponseSerializer(serializers.Serializer):
    support_count = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Proposal.Status.values)
    supported = serializers.BooleanField()
