import factory
from django.contrib.auth import get_user_model

from accounts.models import Gender, Verification
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


class OfficialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"official{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@seoul.go.kr")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"그룹 {n}")
    name_en = factory.Sequence(lambda n: f"Group {n}")
    kind = Group.Kind.SELF_DECLARED
