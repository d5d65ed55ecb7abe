from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Verification(models.IntegerChoices):
    """How sure we are of who the citizen is. Ordered, so polls can demand a minimum."""

    UNVERIFIED = 0, _("unverified")
    PHONE = 10, _("phone verified")
    RESIDENT = 20, _("resident verified")

    @property
    def api_name(self) -> str:
        return self.name.lower()

    @classmethod
    def from_api_name(cls, name: str) -> "Verification":
        return cls[name.upper()]


class Gender(models.TextChoices):
    FEMALE = "female", _("female")
    MALE = "male", _("male")
    OTHER = "other", _("other")
    UNDISCLOSED = "undisclosed", _("undisclosed")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, *, password: str | None, **fields) -> "User":
        if fields.get("email"):
            fields["email"] = self.normalize_email(fields["email"])
        user = self.model(**fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(
        self,
        username: str | None = None,
        email: str | None = None,
        password: str | None = None,
        **fields,
    ) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(username=username, email=email or None, password=password, **fields)

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **fields
    ) -> "User":
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(username=username, email=email or None, password=password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(username=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A citizen (identified by a verified phone) or an official (username/email + password).

    One verified phone = one citizen: the phone number is unique, which is what keeps one person
    to one vote per poll. The residence and age fields are what eligibility is decided on.
    """

    username = models.CharField(
        _("username"),
        max_length=150,
        unique=True,
        null=True,
        blank=True,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Officials log in with it. Citizens have none; they use their phone."),
    )
    # NULL, not "": the case-insensitive unique constraint must let many users have no email.
    email = models.EmailField(_("email address"), null=True, blank=True)  # noqa: DJ001
    phone = models.CharField(
        _("phone number"), max_length=16, unique=True, null=True, blank=True, help_text="E.164"
    )
    phone_verified = models.BooleanField(_("phone verified"), default=False)
    display_name = models.CharField(_("name"), max_length=100, blank=True)

    district = models.ForeignKey(
        "districts.District",
        verbose_name=_("residence"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
    )
    district_changed_at = models.DateTimeField(_("residence changed at"), null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    gender = models.CharField(
        _("gender"), max_length=11, choices=Gender.choices, default=Gender.UNDISCLOSED
    )
    verification = models.PositiveSmallIntegerField(
        _("verification level"), choices=Verification.choices, default=Verification.UNVERIFIED
    )

    # Officials only: a gu to which their work is limited; empty means city-wide.
    jurisdiction = models.ForeignKey(
        "districts.District",
        verbose_name=_("jurisdiction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="officials",
        limit_choices_to={"level": "gu"},
        help_text=_(
            "Officials of a gu see and target only polls inside it. Empty: the whole city."
        ),
    )

    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Officials are staff: they may log in to the admin."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [("view_phone_number", _("Can see citizens' full phone numbers"))]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="unique_user_email_ci"),
            models.CheckConstraint(
                condition=models.Q(birth_year__isnull=True)
                | models.Q(birth_year__gte=1900, birth_year__lte=2100),
                name="user_birth_year_plausible",
            ),
        ]
        indexes = [models.Index(fields=["district", "verification"])]

    def __str__(self) -> str:
        if self.username:
            return self.username
        return f"citizen #{self.pk}"

    def get_full_name(self) -> str:
        return self.display_name or str(self)

    def get_short_name(self) -> str:
        return self.get_full_name()

    @property
    def verification_level(self) -> Verification:
        return Verification(self.verification)

    def age_on(self, day: date) -> int | None:
        """Age reached during the year of ``day`` (연 나이): only the birth year is kept."""
        if self.birth_year is None:
            return None
        return day.year - self.birth_year


class ProfileField(models.TextChoices):
    """The self-declared facts eligibility is decided on; each changes only under a cooldown."""

    RESIDENCE = "residence", _("residence")
    BIRTH_YEAR = "birth_year", _("birth year")
    GENDER = "gender", _("gender")


class ProfileChange(models.Model):
    """When a phone number's residence, birth year or gender last changed — never the values.

    Keyed by a keyed hash of the number, not by the account: deleting the account and signing up
    again with the same SIM keeps the clock running, so nobody hops districts (or ages) by
    re-creating accounts. No foreign key to the user, so the rows outlive the account; they hold
    no personal data a database reader could use without the server's key.
    """

    class Source(models.TextChoices):
        CITIZEN = "citizen", _("the citizen")
        OFFICIAL = "official", _("two officials")
        PROVIDER = "provider", _("identity verification")

    phone_key = models.CharField(max_length=64, editable=False)
    field = models.CharField(max_length=16, choices=ProfileField.choices, editable=False)
    at = models.DateTimeField(default=timezone.now, editable=False)
    source = models.CharField(max_length=8, choices=Source.choices, editable=False)

    class Meta:
        verbose_name = _("profile change")
        verbose_name_plural = _("profile changes")
        indexes = [models.Index(fields=["phone_key", "field", "-at"])]

    def __str__(self) -> str:
        return f"{self.field} @ {self.at:%Y-%m-%d}"


class CitizenChangeRequest(models.Model):
    """An official's proposed change to a citizen's identity or eligibility, decided by another.

    Officials cannot edit a citizen's residence, age, gender or verification directly: one asks,
    with a reason, and a second official of the same powers approves (four eyes). Raising an
    account to resident-verified qualifies it for binding polls; lowering it or moving a
    residence disenfranchises — each is as dangerous in one insider's hands.
    """

    class Kind(models.TextChoices):
        VERIFY_RESIDENT = "verify_resident", _("confirm as resident-verified")
        LOWER_VERIFICATION = "lower_verification", _("lower to phone-verified")
        RESIDENCE = "residence", _("correct the residence")
        BIRTH_YEAR = "birth_year", _("correct the birth year")
        GENDER = "gender", _("correct the gender")

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting a second official")
        APPROVED = "approved", _("approved and applied")
        REJECTED = "rejected", _("rejected")

    citizen = models.ForeignKey(
        User,
        verbose_name=_("citizen"),
        on_delete=models.CASCADE,
        related_name="change_requests",
        limit_choices_to={"is_staff": False},
    )
    kind = models.CharField(_("change"), max_length=24, choices=Kind.choices)
    district = models.ForeignKey(
        "districts.District",
        verbose_name=_("new residence"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    birth_year = models.PositiveSmallIntegerField(_("new birth year"), null=True, blank=True)
    gender = models.CharField(_("new gender"), max_length=11, choices=Gender.choices, blank=True)
    reason = models.TextField(
        _("reason"),
        max_length=1000,
        help_text=_("Why, and on what evidence (e.g. the document seen at the community centre)."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        User,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("change to a citizen")
        verbose_name_plural = _("changes to citizens")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("decide_citizenchangerequest", _("Can approve or reject another official's change"))
        ]
        constraints = [
            # One open request per citizen and kind: a second official cannot pile up requests
            # until a colleague approves one by mistake.
            models.UniqueConstraint(
                fields=["citizen", "kind"],
                condition=models.Q(status="pending"),
                name="one_pending_change_per_citizen_and_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — citizen #{self.citizen_id}"


# Texts sent through a real provider: their own module (accounts/sms_records.py), imported here
# so the app registry and migrations see the model.
from accounts.sms_records import SMSDelivery  # noqa: E402, F401
