import re

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

code_validator = RegexValidator(r"^\d{10}$", _("An administrative code has exactly 10 digits."))

_JE_BEFORE_DIGIT = re.compile(r"제(?=\d)")
_SEPARATORS = re.compile(r"[.·‧ㆍ・\s\-()]+")


def name_key(text: str) -> str:
    """Normalise a district name for matching what people type.

    The official list writes 창신제1동 and 종로1.2.3.4가동; people type 창신1동 and 종로1·2·3·4가동.
    So: drop 제 before a digit, treat . and · (and spaces, hyphens) alike, ignore case.
    """
    return _SEPARATORS.sub("", _JE_BEFORE_DIGIT.sub("", text)).casefold()


def district_search_key(name_ko: str, name_en: str) -> str:
    """The stored ``District.search_key``.

    A module function, not a method, so bulk loaders and data migrations (whose historical models
    have no custom methods) compute exactly what ``save()`` does.
    """
    return f"{name_key(name_ko)} {name_key(name_en)}"


class DistrictQuerySet(models.QuerySet):
    def active(self) -> "DistrictQuerySet":
        return self.filter(is_active=True)

    def descendants_of(self, code: str) -> "DistrictQuerySet":
        """Children and grandchildren (the tree is at most city → gu → dong)."""
        return self.filter(models.Q(parent_id=code) | models.Q(parent__parent_id=code))

    def search(self, text: str) -> "DistrictQuerySet":
        """By code prefix (digits only) or by normalised Korean/English name.

        "창신1동" finds 창신제1동, "종로1·2·3·4가동" finds 종로1.2.3.4가동,
        "jongno" finds Jongno-gu.
        """
        text = text.strip()
        if text.isascii() and text.isdigit():
            return self.filter(code__startswith=text)
        key = name_key(text)
        if not key:
            # Only separators typed: matching everything would not be a search result.
            return self.none()
        return self.filter(search_key__contains=key)


class District(models.Model):
    """An administrative area: the city, a gu (자치구) or an administrative dong (행정동)."""

    class Level(models.TextChoices):
        CITY = "city", _("city")
        GU = "gu", _("gu")
        DONG = "dong", _("dong")

    code = models.CharField(
        _("administrative code"), max_length=10, primary_key=True, validators=[code_validator]
    )
    level = models.CharField(_("level"), max_length=4, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    name_ko = models.CharField(_("Korean name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=100)
    # Normalised Korean + English names, for search and the admin's autocomplete.
    search_key = models.CharField(max_length=200, editable=False, db_index=True)
    # Retired codes stay (polls and ballots may reference them) but are no longer offered.
    is_active = models.BooleanField(_("active"), default=True)

    objects = DistrictQuerySet.as_manager()

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "is_active"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="city", parent__isnull=True)
                | models.Q(level__in=["gu", "dong"], parent__isnull=False),
                name="district_parent_matches_level",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name_ko} ({self.code})"

    def save(self, *args, **kwargs) -> None:
        self.search_key = district_search_key(self.name_ko, self.name_en)
        super().save(*args, **kwargs)

    @property
    def gu_code(self) -> str | None:
        """The gu this district lies in (itself for a gu; none for the city)."""
        if self.level == self.Level.GU:
            return self.code
        if self.level == self.Level.DONG:
            return self.parent_id
        return None

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "ko").startswith("en") else self.name_ko


class Group(models.Model):
    """A set of citizens a poll can be targeted at ("청년 19–34", "학부모", "버스 이용자", ...)."""

    class Kind(models.TextChoices):
        SELF_DECLARED = "self", _("self-declared")
        MANAGED = "managed", _("managed by officials")

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # Whose group it is: a gu's officials manage their gu's groups only; empty is city-wide (the
    # city's officials'). Same meaning as ``User.jurisdiction``.
    jurisdiction = models.ForeignKey(
        District,
        verbose_name=_("jurisdiction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="groups",
        limit_choices_to={"level": "gu"},
        help_text=_("The gu whose officials manage this group. Empty: the city's officials."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="GroupMembership",
        related_name="citizen_groups",
        verbose_name=_("members"),
    )

    class Meta:
        verbose_name = _("citizen group")
        verbose_name_plural = _("citizen groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_self_declared(self) -> bool:
        return self.kind == self.Kind.SELF_DECLARED


class GroupMembership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="unique_group_membership")
        ]
        indexes = [models.Index(fields=["user", "group"])]

    def __str__(self) -> str:
        return f"{self.group_id}:{self.user_id}"


class PendingGroupMember(models.Model):
    """A phone number put on a managed group before it had an account; it joins on sign-up."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="pending_members")
    phone = models.CharField(_("phone number"), max_length=16)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pending group member")
        verbose_name_plural = _("pending group members")
        constraints = [
            models.UniqueConstraint(fields=["group", "phone"], name="unique_pending_group_member")
        ]
        indexes = [models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return f"{self.group_id}:pending"


# The registry's 5-year age bands by their first year: 0–4, 5–9, …, 95–99, and 100 and over.
AGE_BANDS = tuple(range(0, 101, 5))


class PopulationTable(models.Model):
    """One published table of registered residents by gu × 5-year age band × sex.

    The evidence the results are weighted to (issue 18). A table is identified by its reference
    date; importing a table for the same date again replaces its cells. ``is_demo`` marks a table
    that is not official figures: wherever a table is shown, that is said.
    """

    reference_date = models.DateField(_("reference date"), unique=True)
    source = models.TextField(_("source"))
    is_demo = models.BooleanField(_("demo figures, not official"), default=False)
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        verbose_name = _("population table")
        verbose_name_plural = _("population tables")
        ordering = ["-reference_date"]

    def __str__(self) -> str:
        label = f"{self.reference_date:%Y-%m-%d}"
        return f"{label} ({_('demo')})" if self.is_demo else label


class PopulationCell(models.Model):
    """Residents of one gu, one sex and one 5-year age band (``age_from`` 100: 100 and over)."""

    class Sex(models.TextChoices):
        # The same values as a citizen's gender (accounts.models.Gender), which the weighting
        # matches against; the registry knows these two only.
        FEMALE = "female", _("female")
        MALE = "male", _("male")

    table = models.ForeignKey(PopulationTable, on_delete=models.CASCADE, related_name="cells")
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="+", verbose_name=_("gu")
    )
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices)
    age_from = models.PositiveSmallIntegerField(_("age from"))
    population = models.PositiveIntegerField(_("population"))

    class Meta:
        verbose_name = _("population cell")
        verbose_name_plural = _("population cells")
        constraints = [
            models.UniqueConstraint(
                fields=["table", "district", "sex", "age_from"], name="population_cell_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(age_from__in=AGE_BANDS),
                name="population_cell_age_band",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district_id} {self.sex} {self.age_from}: {self.population}"
