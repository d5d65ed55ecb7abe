"""Demo polls for the newer results (issue 18): ranked, scored, and weighted to the population.

``seed_demo`` calls ``seed``. Every ballot goes the citizens' way (voting.casting.cast_ballot) and
is counted by the counter (voting.counting.count_all); nothing here writes a counter. The ballots
are laid out so that what each poll exists to show does show:

- the ranked poll's instant-runoff count takes four rounds, with transfers and exhausted ballots;
  the first preferences' leader falls behind in the third round and wins the fourth;
- the score poll's options have different means and spreads, some ballots abstaining;
- the closed poll's voters lean young and towards Jongno-gu (against the shipped population
  table), so its weighted shares differ visibly from the raw ones. Its audience is three gu
  aged 20 and over (few classes), and every gu, age band and sex of it has at least 10 ballots
  (k by default): the weighting refuses where a class with residents has none and below 100
  weightable ballots (voting/weighting.py), and the coverage table withholds classes below k.

Idempotent: a poll that exists (by its Korean title) is left alone, so a demo database seeded
before these polls gets them on the next ``make run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import cycle, islice

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Gender, User, Verification
from districts.models import District, PopulationTable
from districts.population import SHIPPED_FILE, SHIPPED_SOURCE, import_population
from voting import casting, counting
from voting.models import Category, Poll

DEPARTMENT = "데모"


@dataclass(frozen=True, slots=True)
class PollText:
    """A demo poll's words, Korean and English; ``options``: (label, English label) in order."""

    title: str
    title_en: str
    description: str
    description_en: str
    options: list[tuple[str, str]]


# The closed poll's audience: a dong of each of three gu (종로구 사직동, 마포구 공덕동, 노원구
# 상계1동). Of every seven voters of an age band two live in Jongno, three in Mapo, two in Nowon,
# where the residents aged 20 and over are about 14 %, 37 % and 49 %.
WEIGHTED_GU = ("1111000000", "1144000000", "1135000000")
WEIGHTED_DONGS = ("1111053000", "1144056500", "1135059500")
GU_CYCLE = (0, 0, 1, 1, 1, 2, 2)
# Voters per age band (the results' decades, 80: 80 and over): the young over-represented (the
# residents aged 20+ are about 16 % in their 20s and 6 % aged 80+), every band at least k = 10.
BAND_VOTERS = {20: 45, 30: 40, 40: 25, 50: 20, 60: 15, 70: 10, 80: 10}
RESIDENTS = sum(BAND_VOTERS.values())
# Of every ten voters of a band: how many choose each option (yes, no, weekends only). The young
# want the late opening, their elders less: weighting to the population lowers "yes".
BAND_CHOICES = {
    20: (7, 2, 1),
    30: (6, 3, 1),
    40: (5, 3, 2),
    50: (4, 4, 2),
    60: (2, 6, 2),
    70: (2, 6, 2),
    80: (1, 7, 2),
}

WEIGHTED_POLL = PollText(
    title="구립 도서관 야간 개관을 밤 11시까지 늘릴까요?",
    title_en="Should gu libraries stay open until 11 p.m.?",
    description=(
        "지난달 종로구·마포구·노원구의 20세 이상 주민에게 물은 투표입니다. 참여자가 젊은 층과 "
        "종로구에 치우쳐 있어, 결과에 주민등록 인구에 맞춘 가중 추정치와 오차 범위가 함께 "
        "나옵니다."
    ),
    description_en=(
        "Asked last month of residents aged 20 and over in Jongno-gu, Mapo-gu and Nowon-gu. Its "
        "voters lean young and towards Jongno-gu, so the results also show estimates weighted to "
        "the registered population, with margins of error."
    ),
    options=[("찬성", "Yes"), ("반대", "No"), ("주말에만 찬성", "Weekends only")],
)

# Ranked: rank up to three of five. One cycle of 20 ballots, cast in this order (ids by position:
# 0 night market, 1 museums, 2 palaces, 3 street festival, 4 cinema). First preferences 6/5/4/3/2:
# cinema goes first (to the festival and the palaces), then the festival (to the museums, which
# take the lead, and one ballot exhausted), then the palaces (to the night market, which wins 9
# to 8 with three ballots exhausted). The night market also beats every other option head to
# head, yet the museums, ranked second more often, lead the Borda count: the methods differ.
RANKED_CYCLE = (
    *[(0, 1, 2)] * 3,
    *[(0, 2)] * 2,
    (0, 1),
    *[(1, 0, 2)] * 2,
    *[(1, 3)] * 2,
    (1,),
    *[(2, 0, 1)] * 3,
    (2,),
    *[(3, 1, 0)] * 2,
    (3,),
    (4, 3, 1),
    (4, 2),
)
RANKED_POLL = PollText(
    title="2027년 서울 야간 문화 행사 우선순위",
    title_en="Seoul's 2027 night-time culture events: your priorities",
    description="내년에 먼저 열 야간 문화 행사를 1순위부터 3순위까지 골라 주세요.",
    description_en="Rank up to three of the night-time events to hold first next year.",
    options=[
        ("한강 야시장", "Han River night market"),
        ("심야 미술관·박물관 개방", "Museums open late"),
        ("고궁 야간 관람", "Palaces by night"),
        ("거리 공연 축제", "Street performance festival"),
        ("야외 심야 영화 상영", "Late-night open-air cinema"),
    ],
)
RANKED_BALLOTS = 90  # while the poll is open the newest k stay sealed: 80 counted, four cycles

# Score: 1–5, abstaining allowed. Ten ballots, cast in this order, per option (None: abstains):
# the Milky Way liked, the Waves middling, the Four Seasons divisive, plain white disliked.
SCORE_CYCLE = (
    (5, 3, 1, 2),
    (4, 3, 2, None),
    (5, 4, 5, 1),
    (3, 2, 1, 2),
    (4, 3, 4, None),
    (5, None, 2, 3),
    (2, 4, 5, 1),
    (4, 3, 1, None),
    (5, 2, 3, 2),
    (None, 3, None, 1),
)
SCORE_POLL = PollText(
    title="한강 다리 야간 조명 디자인, 후보마다 점수를 매겨 주세요",
    title_en="Han River bridge lighting: score each design",
    description="1점(별로)부터 5점(아주 좋음)까지. 잘 모르는 후보는 비워 두어도 됩니다.",
    description_en="From 1 (poor) to 5 (excellent). Leave out a design you cannot judge.",
    options=[
        ("은하수", "Milky Way"),
        ("물결", "Waves"),
        ("사계절", "Four Seasons"),
        ("단색 백색", "Plain white"),
    ],
)
SCORE_BALLOTS = 60  # 50 counted while open


@dataclass(frozen=True, slots=True)
class Resident:
    """A demo citizen of the closed poll's audience and the option they choose in it."""

    phone: str
    dong: str
    birth_year: int
    gender: str
    choice: int


def residents(*, year: int) -> list[Resident]:
    """The 165 citizens of the weighted poll, by age band; their ages spread over each decade."""
    people: list[Resident] = []
    for band, voters in BAND_VOTERS.items():
        choices = [option for option, n in enumerate(BAND_CHOICES[band]) for _ in range(n)]
        for j in range(voters):
            i = len(people)
            people.append(
                Resident(
                    phone=f"+82100020{i:04d}",
                    dong=WEIGHTED_DONGS[GU_CYCLE[i % len(GU_CYCLE)]],
                    birth_year=year - band - (3 * j) % 10,
                    # Alternating, shifted every seven, so each gu has women and men in each band.
                    gender=(Gender.FEMALE, Gender.MALE)[(i // len(GU_CYCLE) + i) % 2],
                    choice=choices[j % len(choices)],
                )
            )
    return people


def _citizens(people: list[Resident]) -> list[User]:
    """The residents as users (created where missing), in the order of ``people``."""
    User = get_user_model()
    dongs = District.objects.in_bulk({person.dong for person in people})
    User.objects.bulk_create(
        [
            User(
                phone=person.phone,
                phone_verified=True,
                district=dongs.get(person.dong),
                birth_year=person.birth_year,
                gender=person.gender,
                verification=Verification.PHONE,
            )
            for person in people
        ],
        ignore_conflicts=True,
    )
    by_phone = User.objects.in_bulk([person.phone for person in people], field_name="phone")
    return [by_phone[person.phone] for person in people]


def _spread(citizens: list[User], n: int, step: int) -> list[User]:
    # Every ``step``-th citizen round the list (step coprime to its length): all ages and gu,
    # not only the first bands.
    return [citizens[i * step % len(citizens)] for i in range(n)]


def _poll(*, spec: PollText, official: User, category: Category, **fields: object) -> Poll:
    poll = Poll.objects.create(
        title=spec.title,
        title_en=spec.title_en,
        description=spec.description,
        description_en=spec.description_en,
        category=category,
        owner=official,
        department=DEPARTMENT,
        published=True,
        **fields,
    )
    for position, (label, label_en) in enumerate(spec.options):
        poll.options.create(label=label, label_en=label_en, position=position)
    return poll


def _options(poll: Poll) -> list[int]:
    return list(poll.options.order_by("position", "id").values_list("pk", flat=True))


def _weighted_poll(
    *,
    official: User,
    category: Category,
    citizens: list[User],
    people: list[Resident],
    now: datetime,
) -> None:
    poll = _poll(
        spec=WEIGHTED_POLL,
        official=official,
        category=category,
        kind=Poll.Kind.SINGLE,
        min_age=20,
        opens_at=now - timedelta(days=30),
        # Open while its ballots are cast, closed (past the counter's grace) right after.
        closes_at=now + timedelta(minutes=5),
    )
    poll.districts.set(District.objects.filter(code__in=WEIGHTED_GU))
    options = _options(poll)
    for citizen, person in zip(citizens, people, strict=True):
        casting.cast_ballot(poll=poll, voter=citizen, option_ids=[options[person.choice]])
    Poll.objects.filter(pk=poll.pk).update(closes_at=now - timedelta(days=2))


def _ranked_poll(
    *, official: User, category: Category, citizens: list[User], now: datetime
) -> None:
    poll = _poll(
        spec=RANKED_POLL,
        official=official,
        category=category,
        kind=Poll.Kind.RANKED,
        min_choices=1,
        max_choices=3,
        opens_at=now - timedelta(days=2),
        closes_at=now + timedelta(days=21),
        results_visibility=Poll.ResultsVisibility.LIVE,
    )
    options = _options(poll)
    ballots = islice(cycle(RANKED_CYCLE), RANKED_BALLOTS)
    for citizen, ranking in zip(_spread(citizens, RANKED_BALLOTS, 7), ballots, strict=True):
        casting.cast_ballot(poll=poll, voter=citizen, ranking=[options[i] for i in ranking])


def _score_poll(*, official: User, category: Category, citizens: list[User], now: datetime) -> None:
    poll = _poll(
        spec=SCORE_POLL,
        official=official,
        category=category,
        kind=Poll.Kind.SCORE,
        score_min=1,
        score_max=5,
        score_abstain=True,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
        results_visibility=Poll.ResultsVisibility.LIVE,
    )
    options = _options(poll)
    ballots = islice(cycle(SCORE_CYCLE), SCORE_BALLOTS)
    for citizen, row in zip(_spread(citizens, SCORE_BALLOTS, 13), ballots, strict=True):
        scores = [(options[i], s) for i, s in enumerate(row) if s is not None]
        casting.cast_ballot(poll=poll, voter=citizen, scores=scores)


def seed(*, official: User, categories: dict[str, Category]) -> int:
    """Add the polls missing from the demo; the number added."""
    now = timezone.now()
    # The weighting needs a population table: the shipped one, unless one was imported already.
    if not PopulationTable.objects.exists():
        import_population(path=SHIPPED_FILE, source=SHIPPED_SOURCE)
    people = residents(year=timezone.localdate().year)
    citizens = _citizens(people)
    existing = set(Poll.objects.filter(department=DEPARTMENT).values_list("title", flat=True))
    added = 0
    if WEIGHTED_POLL.title not in existing:
        _weighted_poll(
            official=official,
            category=categories["culture"],
            citizens=citizens,
            people=people,
            now=now,
        )
        added += 1
    if RANKED_POLL.title not in existing:
        _ranked_poll(official=official, category=categories["culture"], citizens=citizens, now=now)
        added += 1
    if SCORE_POLL.title not in existing:
        _score_poll(
            official=official, category=categories["environment"], citizens=citizens, now=now
        )
        added += 1
    if added:
        # As the counter service would: the closed poll to the end (with its breakdowns and
        # evidence), the open ones in batches, their newest k ballots still sealed.
        counting.count_all()
    return added
