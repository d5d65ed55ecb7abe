from typing import Any

from django.db.models import Field, Model
from django.urls import reverse
from django.utils.text import capfirst
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Verification
from core.media_api import RenditionSerializer, rendition_list
from voting import bilingual, eligibility
from voting.models import Option, Outcome, Poll, PollImage
from voting.models.polls import MAX_RANKED_OPTIONS, SCORE_LIMIT


class LocalizedField(serializers.CharField):
    """A Korean text, or for a reader of English its twin field ``english`` where that is filled
    in (voting/bilingual.py). The API keeps one key per text: apps show what they get."""

    def __init__(self, *, english: str, **kwargs: Any) -> None:
        self.english = english
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        korean = super().get_attribute(instance)
        if not isinstance(korean, str):
            return korean
        return bilingual.localized(korean, getattr(instance, self.english, ""))


def localized_model_field(model: type[Model], name: str) -> LocalizedField:
    """The model's Korean field ``name`` as a ModelSerializer would declare it (label, help text,
    bounds: the schema stays as it was), read in the reader's language from ``<name>_en``."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field), f"{name} is a column of {model.__name__}"
    kwargs: dict[str, Any] = {"label": capfirst(field.verbose_name)}
    if field.help_text:
        kwargs["help_text"] = field.help_text
    if field.max_length:
        kwargs["max_length"] = field.max_length
    if field.blank:
        kwargs.update(allow_blank=True, required=False)
    return LocalizedField(english=f"{name}_en", **kwargs)


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.ImageField(source="image", use_url=True)
    width = serializers.IntegerField(source="image_width", allow_null=True)
    height = serializers.IntegerField(source="image_height", allow_null=True)
    renditions = serializers.SerializerMethodField(
        help_text="Smaller WebP copies for phones, narrowest first (none wider than the image)."
    )

    class Meta:
        model = PollImage
        fields = ["url", "caption", "alt", "width", "height", "renditions"]

    @extend_schema_field(RenditionSerializer(many=True))
    def get_renditions(self, image: PollImage) -> list[dict]:
        return rendition_list(
            file=image.image,
            width=image.image_width,
            height=image.image_height,
            context=self.context,
        )


class OptionImageSerializer(serializers.Serializer):
    url = serializers.URLField()
    alt = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    renditions = RenditionSerializer(many=True)


class CategorySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = LocalizedField(english="name_en")


# What every citizen sees alike of a poll in the list (cached: voting/poll_cards.py).
class PollCardSerializer(serializers.ModelSerializer):
    title = localized_model_field(Poll, "title")
    category = CategorySerializer(allow_null=True)
    cover_image = serializers.SerializerMethodField()

    class Meta:
        model = Poll
        fields = ["id", "title", "category", "cover_image", "opens_at", "closes_at"]

    @extend_schema_field(ImageSerializer(allow_null=True))
    def get_cover_image(self, poll: Poll) -> dict | None:
        covers = getattr(poll, "cover_images", [])
        return ImageSerializer(covers[0], context=self.context).data if covers else None


# A poll in the app's list: its card and the citizen's own part (voting/poll_list.py).
class PollListItemSerializer(PollCardSerializer):
    status = serializers.ChoiceField(choices=["open", "upcoming", "closed"])
    eligible = serializers.BooleanField()
    has_voted = serializers.BooleanField()
    participants = serializers.IntegerField(help_text="Ballots counted so far.")

    class Meta:
        model = Poll
        fields = [
            "id",
            "title",
            "category",
            "cover_image",
            "status",
            "opens_at",
            "closes_at",
            "eligible",
            "has_voted",
            "participants",
        ]


# A page of the list, as DRF's page-number pagination answers (core/pagination.py).
class PaginatedPollListItemListSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PollListItemSerializer(many=True)


class OptionSerializer(serializers.ModelSerializer):
    # Shadows Field.label for the type checker only: DRF moves declared fields out of the class.
    label = localized_model_field(Option, "label")  # type: ignore[assignment]
    description = localized_model_field(Option, "description")
    image = serializers.SerializerMethodField()

    class Meta:
        model = Option
        fields = ["id", "label", "description", "image"]

    @extend_schema_field(OptionImageSerializer(allow_null=True))
    def get_image(self, option: Option) -> dict | None:
        if not option.image:
            return None
        request = self.context.get("request")
        url = option.image.url
        return {
            "url": request.build_absolute_uri(url) if request else url,
            "alt": option.image_alt,
            "width": option.image_width,
            "height": option.image_height,
            "renditions": rendition_list(
                file=option.image,
                width=option.image_width,
                height=option.image_height,
                context=self.context,
            ),
        }


class OutcomeSerializer(serializers.ModelSerializer):
    attachment = serializers.SerializerMethodField()

    class Meta:
        model = Outcome
        fields = ["summary", "link", "attachment", "decided_on", "recorded_at"]

    @extend_schema_field(
        serializers.URLField(
            allow_null=True,
            help_text="Redirects to a short-lived signed link, once the poll's results are "
            "visible to the citizen (voting/media.py).",
        )
    )
    def get_attachment(self, outcome: Outcome) -> str | None:
        if not outcome.attachment:
            return None
        # The file is private: a stable link that checks who asks (a signed URL would expire
        # inside the cached card).
        request = self.context.get("request")
        url = reverse("voting:outcome-attachment", kwargs={"poll_id": outcome.poll_id})
        return request.build_absolute_uri(url) if request else url


class AudienceDistrictSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class AudienceGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


# Who may vote: every rule must hold (an empty list sets no rule).
class AudienceSerializer(serializers.Serializer):
    districts = AudienceDistrictSerializer(many=True, help_text="Residents of any of these.")
    groups = AudienceGroupSerializer(many=True, help_text="Members of any of these.")
    min_age = serializers.IntegerField(allow_null=True)
    max_age = serializers.IntegerField(allow_null=True)
    min_verification = serializers.ChoiceField(choices=[level.api_name for level in Verification])


# What every citizen sees alike of one poll (cached: voting/poll_cards.py).
class PollDetailCardSerializer(serializers.ModelSerializer):
    title = localized_model_field(Poll, "title")
    description = localized_model_field(Poll, "description")
    category = CategorySerializer(allow_null=True)
    images = ImageSerializer(many=True)
    options = OptionSerializer(many=True)
    audience = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()

    class Meta:
        model = Poll
        fields = [
            "id",
            "title",
            "description",
            "category",
            "images",
            "options",
            "kind",
            "min_choices",
            "max_choices",
            "score_min",
            "score_max",
            "score_abstain",
            "opens_at",
            "closes_at",
            "audience",
            "results_visibility",
            "outcome",
        ]

    @extend_schema_field(OutcomeSerializer(allow_null=True))
    def get_outcome(self, poll: Poll) -> dict | None:
        # What the city decided because of this poll (null until officials record it).
        try:
            outcome = poll.outcome
        except Outcome.DoesNotExist:
            return None
        return OutcomeSerializer(outcome, context=self.context).data

    @extend_schema_field(AudienceSerializer)
    def get_audience(self, poll: Poll) -> dict:
        return {
            "districts": [{"code": d.code, "name": d.name} for d in poll.districts.all()],
            "groups": [
                {"id": g.pk, "name": bilingual.localized(g.name, g.name_en)}
                for g in poll.groups.all()
            ],
            "min_age": poll.min_age,
            "max_age": poll.max_age,
            "min_verification": Verification(poll.min_verification).api_name,
        }


# One poll: its card and the citizen's own part (voting/poll_detail.py).
class PollDetailSerializer(PollDetailCardSerializer):
    status = serializers.ChoiceField(choices=["open", "upcoming", "closed"])
    eligible = serializers.BooleanField()
    ineligible_reason = serializers.ChoiceField(
        choices=list(eligibility.REASONS),
        allow_null=True,
        help_text="Why the citizen may not vote (the first rule that fails); null if eligible.",
    )
    has_voted = serializers.BooleanField()
    results_available = serializers.BooleanField()
    participants = serializers.IntegerField(help_text="Ballots counted so far.")

    class Meta:
        model = Poll
        fields = [
            "id",
            "title",
            "description",
            "category",
            "images",
            "options",
            "kind",
            "min_choices",
            "max_choices",
            "score_min",
            "score_max",
            "score_abstain",
            "opens_at",
            "closes_at",
            "status",
            "audience",
            "eligible",
            "ineligible_reason",
            "has_voted",
            "results_visibility",
            "results_available",
            "participants",
            "outcome",
        ]

    FIELDS = Meta.fields


OPTION_ID_MAX = 2**63 - 1


class ScoreSerializer(serializers.Serializer):
    option = serializers.IntegerField(min_value=1, max_value=OPTION_ID_MAX)
    score = serializers.IntegerField(min_value=0, max_value=SCORE_LIMIT)


class BallotRequestSerializer(serializers.Serializer):
    """One of three shapes, as the poll's ``kind`` asks (voting/questions.py); casting refuses
    any other number of them (``invalid_choice``)."""

    options = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=OPTION_ID_MAX),
        min_length=1,
        max_length=100,
        required=False,
        help_text="Single or multiple choice: ids of the chosen options",
    )
    ranking = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=OPTION_ID_MAX),
        min_length=1,
        max_length=MAX_RANKED_OPTIONS,
        required=False,
        help_text="Ranked: option ids, most preferred first (the poll's min_choices..max_choices)",
    )
    scores = ScoreSerializer(
        many=True,
        required=False,
        help_text=(
            "Score: one score per option scored, on the poll's scale (score_min..score_max); an "
            "option left out abstains, where the poll's score_abstain allows it"
        ),
    )


class BallotResponseSerializer(serializers.Serializer):
    poll = serializers.IntegerField()
    options = serializers.ListField(
        child=serializers.IntegerField(), help_text="The options the ballot names, by id"
    )
    ranking = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Ranked polls: the ranking, most preferred first",
    )
    scores = ScoreSerializer(
        many=True, required=False, help_text="Score polls: the scores given, by option id"
    )
    receipt = serializers.CharField(
        help_text="Shown once. Keep it to check later that your ballot is counted."
    )


class ReceiptSerializer(serializers.Serializer):
    poll = serializers.IntegerField()
    poll_title = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["sealed", "counted"],
        help_text="sealed: cast, waiting to be counted in a batch; counted: on the board.",
    )
    batch = serializers.IntegerField(
        allow_null=True, help_text="The board entry (batch number) that counted it."
    )
