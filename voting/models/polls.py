"""Polls: the question, its options and images, the audience it targets, and its outcome."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Verification
from core.images import validate_image
from core.media import CleanImageField, private_storage

SCORE_LIMIT = 10
# A ranking is kept whole in one counter (voting/tallies.py ORDER); this bounds its length.
MAX_RANKED_OPTIONS = 20

ENGLISH_HELP = _("Optional: shown to readers of English. Left empty, they read the Korean.")
ENGLISH_MARKDOWN_HELP = _(
    "Markdown. Optional: shown to readers of English. Left empty, they read the Korean."
)


class Category(models.Model):
    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name


class PollQuerySet(models.QuerySet):
    def published(self) -> "PollQuerySet":
        return self.filter(published=True)

    def open_at(self, when) -> "PollQuerySet":
        return self.filter(published=True, opens_at__lte=when, closes_at__gt=when)


class Poll(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("single choice")
        MULTIPLE = "multiple", _("multiple choice")
        RANKED = "ranked", _("ranked")
        SCORE = "score", _("score")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        UPCOMING = "upcoming", _("upcoming")
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    class ResultsVisibility(models.TextChoices):
        LIVE = "live", _("live, while open")
        AFTER_CLOSE = "after_close", _("after closing")
        OFFICIALS = "officials", _("when officials publish them")

    title = models.CharField(_("title"), max_length=200)
    # English beside the Korean, as District and Group have it: readers of English get each
    # field that is filled in, Korean for the rest (voting/bilingual.py).
    title_en = models.CharField(
        _("English title"), max_length=200, blank=True, help_text=ENGLISH_HELP
    )
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown"))
    description_en = models.TextField(
        _("English description"), blank=True, help_text=ENGLISH_MARKDOWN_HELP
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="polls",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_polls",
    )
    department = models.CharField(_("department"), max_length=100, blank=True)

    kind = models.CharField(_("question kind"), max_length=8, choices=Kind.choices)
    min_choices = models.PositiveSmallIntegerField(_("minimum choices"), default=1)
    max_choices = models.PositiveSmallIntegerField(_("maximum choices"), default=1)
    # Score questions: the scale, and whether an option may be left unscored.
    score_min = models.PositiveSmallIntegerField(
        _("lowest score"), default=1, validators=[MaxValueValidator(SCORE_LIMIT)]
    )
    score_max = models.PositiveSmallIntegerField(
        _("highest score"), default=5, validators=[MaxValueValidator(SCORE_LIMIT)]
    )
    score_abstain = models.BooleanField(
        _("abstaining allowed"),
        default=True,
        help_text=_("Score questions: a citizen may leave an option without a score."),
    )

    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    published = models.BooleanField(_("published"), default=False)
    closed_early_at = models.DateTimeField(_("closed early at"), null=True, blank=True)

    results_visibility = models.CharField(
        _("results visibility"),
        max_length=11,
        choices=ResultsVisibility.choices,
        default=ResultsVisibility.AFTER_CLOSE,
    )
    results_published_at = models.DateTimeField(_("results published at"), null=True, blank=True)

    # The audience. Empty districts = all of Seoul; empty groups = everybody.
    districts = models.ManyToManyField(
        "districts.District",
        verbose_name=_("districts"),
        blank=True,
        related_name="polls",
        help_text=_("A gu includes its dongs; the city includes everything."),
    )
    groups = models.ManyToManyField(
        "districts.Group",
        verbose_name=_("groups"),
        blank=True,
        related_name="polls",
        help_text=_("Citizens must belong to at least one of them."),
    )
    min_age = models.PositiveSmallIntegerField(
        _("minimum age"), null=True, blank=True, validators=[MaxValueValidator(150)]
    )
    max_age = models.PositiveSmallIntegerField(
        _("maximum age"), null=True, blank=True, validators=[MaxValueValidator(150)]
    )
    min_verification = models.PositiveSmallIntegerField(
        _("minimum verification"),
        choices=Verification.choices,
        default=Verification.PHONE,
        help_text=_("'Resident verified' for binding decisions."),
    )

    # A closed list: visible and votable only by members of its (managed) groups and by citizens
    # who redeemed one of its invitation codes; 404 for everyone else.
    private = models.BooleanField(
        _("private"),
        default=False,
        help_text=_("Only members of its groups and holders of its invitation codes see it."),
    )
    onsite_only = models.BooleanField(
        _("on-site only"),
        default=False,
        help_text=_("Ballots only through an on-site session's QR code."),
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PollQuerySet.as_manager()

    class Meta:
        verbose_name = _("poll")
        verbose_name_plural = _("polls")
        ordering = ["closes_at", "id"]
        indexes = [models.Index(fields=["published", "closes_at", "opens_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="poll_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=models.Q(min_choices__gte=1, max_choices__gte=models.F("min_choices")),
                name="poll_choice_limits",
            ),
            models.CheckConstraint(
                condition=models.Q(score_min__lt=models.F("score_max"), score_max__lte=SCORE_LIMIT),
                name="poll_score_scale",
            ),
            models.CheckConstraint(
                condition=models.Q(min_age__isnull=True)
                | models.Q(max_age__isnull=True)
                | models.Q(max_age__gte=models.F("min_age")),
                name="poll_age_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors: dict[str, object] = {}
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            errors["closes_at"] = _("A poll must close after it opens.")
        if self.kind == self.Kind.SINGLE:
            self.min_choices = self.max_choices = 1
        elif self.min_choices and self.max_choices and self.max_choices < self.min_choices:
            errors["max_choices"] = _("The maximum must be at least the minimum.")
        if self.kind == self.Kind.SCORE and self.score_min >= self.score_max:
            errors["score_max"] = _("The highest score must be above the lowest.")
        if self.kind == self.Kind.RANKED and (self.max_choices or 0) > MAX_RANKED_OPTIONS:
            errors["max_choices"] = _("At most %(n)d options can be ranked.") % {
                "n": MAX_RANKED_OPTIONS
            }
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            errors["max_age"] = _("The maximum age must be at least the minimum age.")
        if errors:
            raise ValidationError(errors)

    def status_at(self, when) -> "Poll.Status":
        if not self.published:
            return self.Status.DRAFT
        if when < self.opens_at:
            return self.Status.UPCOMING
        if when < self.closes_at:
            return self.Status.OPEN
        return self.Status.CLOSED

    @property
    def status(self) -> "Poll.Status":
        return self.status_at(timezone.now())

    def results_visible_to_citizens(self, when=None) -> bool:
        status = self.status_at(when or timezone.now())
        if status in (self.Status.DRAFT, self.Status.UPCOMING):
            return False
        if self.results_visibility == self.ResultsVisibility.LIVE:
            return True
        if self.results_visibility == self.ResultsVisibility.AFTER_CLOSE:
            return status == self.Status.CLOSED
        return status == self.Status.CLOSED and self.results_published_at is not None


class Option(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(_("label"), max_length=200)
    label_en = models.CharField(
        _("English label"), max_length=200, blank=True, help_text=ENGLISH_HELP
    )
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("English description"), blank=True, help_text=ENGLISH_HELP)
    image = CleanImageField(
        _("image"), upload_to="options/%Y/%m/", blank=True, validators=[validate_image]
    )
    # Set with the image (core/media.py): its renditions' sizes are computed from them.
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_alt = models.CharField(_("image alt text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class PollImage(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="images")
    image = CleanImageField(_("image"), upload_to="polls/%Y/%m/", validators=[validate_image])
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    alt = models.CharField(
        _("alt text"), max_length=200, help_text=_("What the image shows, for screen readers.")
    )
    is_cover = models.BooleanField(_("cover image"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        ordering = ["-is_cover", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["poll"], condition=models.Q(is_cover=True), name="one_cover_per_poll"
            )
        ]

    def __str__(self) -> str:
        return self.caption or self.alt


class Outcome(models.Model):
    """What was decided because of a closed poll: the answer the city owes those who voted."""

    poll = models.OneToOneField(
        Poll, verbose_name=_("poll"), on_delete=models.CASCADE, related_name="outcome"
    )
    summary = models.TextField(_("what was decided"), max_length=5000)
    link = models.URLField(_("link"), blank=True, help_text=_("The decision or plan, if online."))
    attachment = models.FileField(
        _("attachment"),
        upload_to="outcomes/%Y/%m/",
        # Never public: served by signed, expiring URLs once citizens may see it (voting/media.py).
        storage=private_storage,
        blank=True,
        validators=[FileExtensionValidator(["pdf", "hwp", "hwpx", "docx", "xlsx", "png", "jpg"])],
    )
    decided_on = models.DateField(_("decided on"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("outcome")
        verbose_name_plural = _("outcomes")

    def __str__(self) -> str:
        return f"outcome of poll {self.poll_id}"
