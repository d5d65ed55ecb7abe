"""Demo data for `make run`: an official, a few citizens and groups. Idempotent."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import officials_mfa
from accounts.models import Gender, Verification
from accounts.roles import ensure_official_group
from config import demo_ballots
from districts.models import District, Group, GroupMembership
from voting import casting, counting
from voting import services as voting
from voting.models import Category, Poll

DEMO_OFFICIAL = {"username": "official", "password": "mvoting-demo", "email": "official@demo.local"}

# phone, dong code, birth year, gender, verification
DEMO_PROPOSAL = {
    "title": "한강공원에 반려견 놀이터를 더 만들까요?",
    "description": (
        "반려견과 함께 쉴 수 있는 울타리 놀이터를 한강공원마다 한 곳 이상 두자는 제안입니다."
    ),
    "options": ["찬성", "반대", "잘 모르겠다"],
    "duration_days": 14,
}

DEMO_CITIZENS = [
    ("+821000000001", "1111053000", 1987, Gender.FEMALE, Verification.PHONE),  # 종로구 사직동
    ("+821000000002", "1168064000", 1995, Gender.MALE, Verification.RESIDENT),  # 강남구 역삼1동
    ("+821000000003", "1144056500", 1962, Gender.FEMALE, Verification.PHONE),  # 마포구 서교동
    ("+821000000004", "1135059500", 2004, Gender.OTHER, Verification.PHONE),  # 노원구 상계1동
    ("+821000000005", "1168064000", 1978, Gender.UNDISCLOSED, Verification.PHONE),
]

# More voters, so the demo polls pass the secret ballot's thresholds (counting in batches of at
# least BALLOT_BATCH_MIN, breakdown cells of at least as many): 60 citizens over four gu, four age
# bands and two genders, 15 to a gu. Nobody logs in as them.
DEMO_VOTER_DONGS = ["1111053000", "1168064000", "1144056500", "1135059500"]
DEMO_VOTERS = [
    (
        f"+8210000{1000 + i:04d}",
        DEMO_VOTER_DONGS[i % 4],
        (1996, 1986, 1976, 1956)[(i // 4) % 4],
        (Gender.FEMALE, Gender.MALE)[(i // 16) % 2],
    )
    for i in range(60)
]

DEMO_CATEGORIES = [
    ("transport", "교통", "Transport"),
    ("environment", "환경", "Environment"),
    ("welfare", "복지", "Welfare"),
    ("culture", "문화", "Culture"),
]

# The demo polls' English (issue 18), by their Korean titles: title, description, option labels
# in order. The closed poll's description is left Korean, to show that a field without English
# reads in Korean (voting/bilingual.py).
DEMO_ENGLISH = {
    "따릉이 심야 운영 시간을 새벽 2시까지 늘릴까요?": (
        "Should Ttareungyi bikes run until 2 a.m.?",
        "We ask citizens about extending the late-night hours of Seoul's public bikes.",
        ["Yes", "No", "Not sure"],
    ),
    "종로구 차 없는 거리, 어디로 넓힐까요? (최대 2곳)": (
        "Jongno car-free streets: where next? (up to 2)",
        "For Jongno-gu residents. Choose the streets to make pedestrian-only first.",
        ["Insadong-gil", "Daehak-ro", "Ikseon-dong area", "Cheonggyecheon-ro"],
    ),
    "2027년 서울 청년 문화패스, 어떤 분야를 늘릴까요?": (
        "2027 Seoul Youth Culture Pass: what should it cover more?",
        "A poll opening next month.",
        ["Performances", "Exhibitions", "Films", "Books"],
    ),
    "경로당 냉방비 지원을 여름 내내로 늘릴까요?": (
        "Should senior centres get cooling subsidies all summer?",
        "",
        ["Yes", "No"],
    ),
}

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
        # The admin asks officials for a second factor (accounts/officials_mfa.py). The demo
        # official is enrolled already, so `make run` works without an authenticator app:
        # `manage.py demo_info --code` prints the current code (DEBUG only, like this command).
        officials_mfa.enrol_demo(user=official)

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

        voter_dongs = District.objects.in_bulk(DEMO_VOTER_DONGS)
        for phone, dong, birth_year, gender in DEMO_VOTERS:
            User.objects.get_or_create(
                phone=phone,
                defaults={
                    "phone_verified": True,
                    "district": voter_dongs.get(dong),
                    "birth_year": birth_year,
                    "gender": gender,
                    "verification": Verification.PHONE,
                },
            )

        categories = {}
        for position, (slug, name, name_en) in enumerate(DEMO_CATEGORIES):
            categories[slug], _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "name_en": name_en, "position": position}
            )
        created_polls = self._polls(official, categories)
        self._english()
        # Ranked, score and population-weighted results (issue 18), with their own citizens.
        created_polls += demo_ballots.seed(official=official, categories=categories)
        created_proposals = self._proposals()
        self.stdout.write(
            f"demo data: 1 official, "
            f"{len(DEMO_CITIZENS) + len(DEMO_VOTERS) + demo_ballots.RESIDENTS} citizens, "
            f"{len(DEMO_GROUPS)} groups, "
            f"{created_polls} new polls, {created_proposals} new proposals"
        )

    def _proposals(self) -> int:
        """A city-wide proposal collecting support, backed by some of the demo citizens."""
        from proposals import services as proposals
        from proposals.models import Proposal

        if Proposal.objects.filter(title=DEMO_PROPOSAL["title"]).exists():
            return 0
        User = get_user_model()
        author, *others = User.objects.filter(phone__in=[row[0] for row in DEMO_CITIZENS]).order_by(
            "phone"
        )
        proposal = proposals.submit_proposal(author=author, district_code=None, **DEMO_PROPOSAL)
        for citizen in others[:3]:
            proposals.support(proposal=proposal, user=citizen)
        return 1

    def _english(self) -> None:
        """The demo polls' English where it is missing (a demo database seeded before it)."""
        for poll in Poll.objects.filter(department="데모", title__in=DEMO_ENGLISH, title_en=""):
            title, description, labels = DEMO_ENGLISH[poll.title]
            poll.title_en, poll.description_en = title, description
            poll.save(update_fields=["title_en", "description_en", "updated_at"])
            for option, label in zip(poll.options.order_by("position", "id"), labels, strict=False):
                option.label_en = label
                option.save(update_fields=["label_en"])

    def _polls(self, official, categories) -> int:
        """Polls open to all of Seoul and to one gu, upcoming, and closed with results."""
        if Poll.objects.filter(department="데모").exists():
            return 0
        now = timezone.now()
        common = {"owner": official, "department": "데모", "published": True}

        def poll(title, description, category, options, **fields) -> Poll:
            created = Poll.objects.create(
                title=title,
                description=description,
                category=categories[category],
                **common,
                **fields,
            )
            for position, label in enumerate(options):
                created.options.create(label=label, position=position)
            return created

        city_wide = poll(
            "따릉이 심야 운영 시간을 새벽 2시까지 늘릴까요?",
            "공공자전거 따릉이의 심야 운영 확대에 대한 시민 의견을 묻습니다.",
            "transport",
            ["찬성", "반대", "잘 모르겠다"],
            kind=Poll.Kind.SINGLE,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
            results_visibility=Poll.ResultsVisibility.LIVE,
        )
        jongno = poll(
            "종로구 차 없는 거리, 어디로 넓힐까요? (최대 2곳)",
            "종로구 주민에게 묻습니다. 보행자 전용 거리로 우선 지정할 곳을 골라 주세요.",
            "environment",
            ["인사동길", "대학로", "익선동 일대", "청계천로"],
            kind=Poll.Kind.MULTIPLE,
            min_choices=1,
            max_choices=2,
            opens_at=now - timedelta(hours=2),
            closes_at=now + timedelta(days=14),
        )
        jongno.districts.set(["1111000000"])
        poll(
            "2027년 서울 청년 문화패스, 어떤 분야를 늘릴까요?",
            "다음 달에 열리는 투표입니다.",
            "culture",
            ["공연", "전시", "영화", "도서"],
            kind=Poll.Kind.SINGLE,
            opens_at=now + timedelta(days=3),
            closes_at=now + timedelta(days=17),
        )
        closed = poll(
            "경로당 냉방비 지원을 여름 내내로 늘릴까요?",
            "지난달 진행한 투표입니다. 결과가 공개되었습니다.",
            "welfare",
            ["찬성", "반대"],
            kind=Poll.Kind.SINGLE,
            opens_at=now - timedelta(days=20),
            closes_at=now + timedelta(minutes=5),
        )
        User = get_user_model()
        phones = [row[0] for row in DEMO_CITIZENS] + [row[0] for row in DEMO_VOTERS]
        citizens = sorted(User.objects.filter(phone__in=phones), key=lambda user: user.phone)
        yes, no = closed.options.all()
        city_options = list(city_wide.options.order_by("position"))
        for index, citizen in enumerate(citizens):
            casting.cast_ballot(
                poll=closed, voter=citizen, option_ids=[(yes if index % 3 else no).pk]
            )
            if index % 2 == 0:
                choice = city_options[0 if index % 3 else 1]
                casting.cast_ballot(poll=city_wide, voter=citizen, option_ids=[choice.pk])
        # The closed poll ran its course: move its close into the past now its ballots are in.
        Poll.objects.filter(pk=closed.pk).update(closes_at=now - timedelta(days=1))
        closed.refresh_from_db()
        # Count now, as the counter service would: the closed poll in full with its breakdowns,
        # the open one in batches (its newest ballots stay sealed, as always while open).
        counting.count_all()
        # What the city decided: shown on the poll, and its voters find it in their inbox.
        voting.record_outcome(
            poll=closed,
            by=official,
            summary=(
                "투표 결과를 반영해 2027년부터 경로당 냉방비를 6월부터 9월까지 지원합니다. "
                "관련 예산은 2027년 본예산에 편성했습니다."
            ),
            decided_on=timezone.localdate(),
            link="https://news.seoul.go.kr/welfare",
        )
        return 4
