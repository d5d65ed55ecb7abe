"""Demo data for `make run`: an official, a few citizens and groups. Idempotent."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Gender, Verification
from accounts.roles import ensure_official_group
from districts.models import District, Group, GroupMembership

DEMO_OFFICIAL = {"username": "official", "password": "mvoting-demo", "email": "official@demo.local"}

# phone, dong code, birth year, gender, verification
DEMO_CITIZENS = [
    ("+821000000001", "1111053000", 1987, Gender.FEMALE, Verification.PHONE),  # 종로구 사직동
    ("+821000000002", "1168064000", 1995, Gender.MALE, Verification.RESIDENT),  # 강남구 역삼1동
    ("+821000000003", "1144056500", 1962, Gender.FEMALE, Verification.PHONE),  # 마포구 서교동
    ("+821000000004", "1135059500", 2004, Gender.OTHER, Verification.PHONE),  # 노원구 상계1동
    ("+821000000005", "1168064000", 1978, Gender.UNDISCLOSED, Verification.PHONE),
]

DEMO_GROUPS = [
    ("청년 19–34", "Youth 19–34", Group.Kind.SELF_DECLARED),
    ("버스 이용자", "Bus riders", Group.Kind.SELF_DECLARED),
    ("학부모", "Parents of school children", Group.Kind.MANAGED),
]


class Command(BaseCommand):
    help = "Load the demo data set (idempotent). Refuses to run with DEBUG off."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (never on a real deployment: the password is public).",
        )

    @transaction.atomic
    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError("seed_demo refuses to run with DEBUG off (public demo password)")
        User = get_user_model()

        official, created = User.objects.get_or_create(
            username=DEMO_OFFICIAL["username"],
            defaults={
                "email": DEMO_OFFICIAL["email"],
                "is_staff": True,
                "display_name": "김주무관",
            },
        )
        if created:
            official.set_password(DEMO_OFFICIAL["password"])
            official.save()
        official.groups.add(ensure_official_group())

        groups = {}
        for name, name_en, kind in DEMO_GROUPS:
            groups[name], _ = Group.objects.get_or_create(
                name=name, defaults={"name_en": name_en, "kind": kind}
            )

        dongs = District.objects.in_bulk([row[1] for row in DEMO_CITIZENS])
        for phone, dong, birth_year, gender, verification in DEMO_CITIZENS:
            citizen, _ = User.objects.get_or_create(
                phone=phone,
                defaults={
                    "phone_verified": True,
                    "district": dongs.get(dong),
                    "birth_year": birth_year,
                    "gender": gender,
                    "verification": verification,
                },
            )
            if birth_year < 1992:
                continue
            GroupMembership.objects.get_or_create(group=groups["청년 19–34"], user=citizen)

        self.stdout.write(
            f"demo data: 1 official, {len(DEMO_CITIZENS)} citizens, {len(DEMO_GROUPS)} groups"
        )
