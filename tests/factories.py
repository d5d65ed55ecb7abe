from collections.abc import Sequence
from datetime import timedelta
from functools import cache

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.models import Gender, Verification
from accounts.roles import OFFICIAL_GROUP, ensure_official_group
from districts.models import Group


class CitizenFactory(factory.django.DjangoModelFactory):
    """A phone-verified citizen with no residence set yet."""

    class Meta:
        model = get_user_model()

    phone = factory.Sequence(lambda n: f"+8210{n:08d}")
    phone_verified = True
    verification = Verification.PHONE
    gender = Gender.UNDISCLOSED
    password = factory.django.Password(None)


def born(age: int) -> int:
    """The birth year of a citizen who is ``age`` this year, as the product counts ages (this
    year in Seoul minus the birth year: voting/eligibility.py). Call it under the ``clock``
    fixture (tests/conftest.py): the year cannot then turn between it and the product's check."""
    return timezone.localdate().year - age


def role_group(role: str) -> AuthGroup:
    """The auth group of a role of accounts/roles.py, made as after a migrate if need be."""
    if role == OFFICIAL_GROUP:
        group = ensure_official_group()
        assert group is not None, "the auth tables are missing"
        return group
    return AuthGroup.objects.get(name=role)


def permissions(names: Sequence[str]) -> list[Permission]:
    """``["app_label.codename", ...]`` as Permission rows; a name that matches none fails."""
    found = []
    for name in names:
        app_label, codename = name.split(".", 1)
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


OFFICIAL_PASSWORD = "correct horse battery staple"


@cache
def official_password_hash() -> str:
    """One real hash of the officials' password per test process: PBKDF2 with Django's
    1,000,000 iterations costs a third of a second, and the suite creates officials by the
    thousand. Signing in with the password still checks it against this hash."""
    return make_password(OFFICIAL_PASSWORD)


class OfficialFactory(factory.django.DjangoModelFactory):
    """A staff account (the password is "correct horse battery staple").

    Bare by default: staff status alone grants nothing, which some tests need. ``role="official"``
    (accounts/roles.py) puts it in that role's group; ``gu=JONGNO`` limits its work to that gu
    (``jurisdiction``; none: city-wide); ``perms=["accounts.view_phone_number", ...]`` grants
    permissions beyond the role. Its sessions pass the second factor through the test client's
    login shortcuts (tests/conftest.py), so it needs no authenticator for them.
    """

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    class Params:
        gu: str | None = None

    username = factory.Sequence(lambda n: f"official{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@seoul.go.kr")
    password = factory.LazyFunction(official_password_hash)
    is_staff = True
    jurisdiction_id = factory.SelfAttribute("gu")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs) -> None:
        if create and extracted:
            self.groups.add(role_group(extracted))

    @factory.post_generation
    def perms(self, create: bool, extracted: Sequence[str] | None, **kwargs) -> None:
        if create and extracted:
            self.user_permissions.add(*permissions(extracted))


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"그룹 {n}")
    name_en = factory.Sequence(lambda n: f"Group {n}")
    kind = Group.Kind.SELF_DECLARED


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "voting.Category"
        django_get_or_create = ("slug",)

    slug = "transport"
    name = "교통"
    name_en = "Transport"


class PollFactory(factory.django.DjangoModelFactory):
    """A published single-choice poll, open now, for all of Seoul, with two options."""

    class Meta:
        model = "voting.Poll"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"정책 투표 {n}")
    description = "서울시 정책에 대한 의견을 묻습니다."
    kind = "single"
    min_choices = 1
    max_choices = 1
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    published = True

    @factory.post_generation
    def options(self, create, extracted, **kwargs):
        if not create:
            return
        labels = extracted if extracted is not None else ["찬성", "반대"]
        for position, label in enumerate(labels):
            self.options.create(label=label, position=position)

    @factory.post_generation
    def districts(self, create, extracted, **kwargs):
        if create and extracted:
            self.districts.set(extracted)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(extracted)


class GroupMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "districts.GroupMembership"

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(CitizenFactory)


class PollImageFactory(factory.django.DjangoModelFactory):
    """An image row pointing at a stored file name (no file is written)."""

    class Meta:
        model = "voting.PollImage"

    poll = factory.SubFactory(PollFactory)
    image = factory.Sequence(lambda n: f"polls/2025/01/image-{n}.png")
    caption = factory.Sequence(lambda n: f"사진 {n}")
    alt = "정책 설명 사진"
    is_cover = False
    position = 0
