"""The data set: Seoul's districts (from the migrations), citizens, officials, polls, ballots.

Loaded with bulk SQL (COPY, INSERT ... SELECT) in seconds. Counted ballots (the result-read polls)
are loaded as the counter leaves them: public board entries of 5,000 shuffled ballots each, hash-
chained and signed with the counter's own functions and key, the overall counters, the counter's
state and one participation per ballot, so ``verify_tallies`` checks them like any other poll.
Sealed envelopes (the counting scenario) are sealed by the product's ``seal_envelope``.

Session rows are written directly, each encoded by Django's own ``SessionStore.encode``, exactly
as a login would store them; their keys are derived from the user id (``bc`` + zero-padded id for
citizens, ``bo`` for officials) so that load clients and pgbench scripts can name a citizen's
token without a lookup. Predictable keys exist only in this throw-away database.
"""

import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone

from accounts.sessions import stored_key

CITIZEN_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"
OFFICIAL_BACKEND = "accounts.backends.UsernameOrEmailBackend"
CITIZEN_PASSWORD = "!bench-citizen"  # noqa: S105  # unusable password (login is by phone code), as citizens have
OFFICIAL_PASSWORD = "!bench-official"  # noqa: S105
B_POLL_BASE = 900_001  # ids of the polls the product's raw SQL is replayed into (ceiling B)
B_POLLS = 10  # the first one is where the SQL is captured; pgbench uses the other nine
B_OPTIONS_PER_POLL = 4


def citizen_token(uid: int) -> str:
    return f"bc{uid:030d}"


def official_token(uid: int) -> str:
    return f"bo{uid:030d}"


def b_option_id(poll_id: int, index: int) -> int:
    return 900_101 + 10 * (poll_id - B_POLL_BASE) + index


@dataclass
class DataSet:
    citizens: int
    officials: int
    list_citizen: int = 0
    polls: dict[str, list[int]] = field(default_factory=dict)
    options: dict[int, list[int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    gus: list[str] = field(default_factory=list)
    preloaded: dict[int, int] = field(default_factory=dict)  # poll → ballots counted at the start
    timings: dict[str, float] = field(default_factory=dict)  # seconds per part of the load

    def lap(self, part: str) -> None:
        """Record the seconds since the previous lap as ``part``."""
        now = time.monotonic()
        self.timings[part] = round(now - getattr(self, "_lap", now), 2)
        self._lap = now

    def poll(self, role: str) -> int:
        return self.polls[role][0]


def _copy(table: str, columns: list[str], rows) -> None:
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _session_rows(ids, token, backend: str, auth_hash: str, expires, *, official: bool = False):
    """Sessions as a login leaves them: seen now (accounts/sessions.py stamps "last seen" when a
    session is saved), and for officials, the second factor passed (accounts/officials_auth.py)."""
    from allauth.account.internal.flows import login as allauth_login

    from accounts.sessions import LAST_SEEN_KEY

    encode = SessionStore().encode
    seen = int(time.time())
    for uid in ids:
        data = {
            SESSION_KEY: str(uid),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: auth_hash,
            LAST_SEEN_KEY: seen,
        }
        if official:
            data[allauth_login.AUTHENTICATION_METHODS_SESSION_KEY] = [
                {"method": "mfa", "at": seen, "type": "totp"}
            ]
            data[allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(uid)
        # The table keeps the token's digest (accounts/sessions.py); clients send the token.
        yield stored_key(token(uid)), encode(data), expires


USER_COLUMNS = [
    "id", "password", "is_superuser", "username", "email", "phone", "phone_verified",
    "display_name", "district_id", "district_changed_at", "birth_year", "gender",
    "verification", "jurisdiction_id", "is_staff", "is_active", "date_joined",
]  # fmt: skip


def load_citizens(
    citizens: int, *, rng: random.Random | None = None, joined=None
) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Citizens 1..``citizens``, phone-verified, spread over the 25 gu and their dongs (gu sizes
    differ, as Seoul's do), with birth years and genders: one COPY. Also used by the tests that
    need the bench's population (tests/notifications/test_fanout_scale.py). Returns the gu
    codes, the (dong, gu) pairs and each citizen's gu."""
    from districts.models import District

    rng = rng or random.Random(6)
    joined = joined or timezone.now() - timedelta(days=60)
    dongs = list(
        District.objects.filter(level="dong", is_active=True).values_list("code", "parent_id")
    )
    gus = sorted({gu for _, gu in dongs})
    by_gu = {gu: [d for d, g in dongs if g == gu] for gu in gus}
    # Gu sizes differ (Songpa ~650k residents, Jung ~120k): weights 1..5 by a fixed draw.
    gu_weight = {gu: rng.choice([1, 2, 3, 4, 5]) for gu in gus}
    gu_pick = rng.choices(gus, weights=[gu_weight[g] for g in gus], k=citizens)
    genders = ["female", "male", "female", "male", "undisclosed", "other"]
    citizen_rows = (
        (uid, CITIZEN_PASSWORD, False, None, None, f"+8210{uid:08d}", True, "",
         rng.choice(by_gu[gu_pick[uid - 1]]), None, rng.randint(1940, 2007),
         rng.choice(genders), 10, None, False, True, joined)
        for uid in range(1, citizens + 1)
    )  # fmt: skip
    _copy("accounts_user", USER_COLUMNS, citizen_rows)
    return gus, dongs, gu_pick


def load(citizens: int, officials: int, read_big: int, read_small: int, seed: int = 6) -> DataSet:
    from accounts.models import User

    rng = random.Random(seed)
    ds = DataSet(citizens=citizens, officials=officials)
    now = timezone.now()
    _sql("SET synchronous_commit = off")  # the load only; the product runs with the defaults
    ds.lap("start")

    # --- Citizens: spread over the 25 gu and their dongs, birth years, genders, phone-verified.
    gus, dongs, gu_pick = load_citizens(citizens, rng=rng, joined=now - timedelta(days=60))
    first_official = citizens + 1
    joined = now - timedelta(days=60)
    official_rows = (
        (uid, OFFICIAL_PASSWORD, False, f"bench-official-{uid}", None, None, False,
         f"Official {uid}", None, None, None, "undisclosed", 0, None, True, True, joined)
        for uid in range(first_official, first_official + officials)
    )  # fmt: skip
    _copy("accounts_user", USER_COLUMNS, official_rows)
    _sql("SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s)", [citizens + officials])
    from django.contrib.auth.models import Group

    official_group = Group.objects.get(name="official").pk
    _copy(
        "accounts_user_groups",
        ["user_id", "group_id"],
        ((uid, official_group) for uid in range(first_official, first_official + officials)),
    )

    # --- Sessions: one per citizen (app session tokens) and one per official (cookies).
    expires = now + timedelta(days=14)
    citizen_hash = User(password=CITIZEN_PASSWORD).get_session_auth_hash()
    official_hash = User(password=OFFICIAL_PASSWORD).get_session_auth_hash()
    _copy(
        "django_session",
        ["session_key", "session_data", "expire_date"],
        _session_rows(
            range(1, citizens + 1), citizen_token, CITIZEN_BACKEND, citizen_hash, expires
        ),
    )
    _copy(
        "django_session",
        ["session_key", "session_data", "expire_date"],
        _session_rows(
            range(first_official, first_official + officials),
            official_token,
            OFFICIAL_BACKEND,
            official_hash,
            expires,
            official=True,
        ),
    )
    ds.counts.update(citizens=citizens, officials=officials, gu=len(gus), dongs=len(dongs))
    ds.lap("citizens_officials_sessions")

    # --- Polls: 1,000 in all; 50 open to every citizen (city-wide), the rest closed, upcoming,
    # drafts, or open but targeted at other gu than the poll-list citizen's.
    from voting.models import Option, Poll

    ds.list_citizen = 1
    list_gu = gu_pick[0]
    other_gus = [g for g in gus if g != list_gu]
    day = timedelta(days=1)
    open_window = {"opens_at": now - day, "closes_at": now + 30 * day, "published": True}
    closed = {"opens_at": now - 60 * day, "closes_at": now - 2 * day, "published": True}
    plan: list[tuple[str, int, dict]] = [
        ("hot", 4, {}),
        *[("spread", 3, {})] * 20,
        ("fanout", 4, {}),
        ("drf", 3, {}),
        ("read_small", 5, {}),
        ("read_big", 5, {}),
        *[("open_other", 3, {})] * 15,
        # The counting scenario's poll: closed (past the grace), its envelopes loaded there.
        ("count", 4, closed),
        *[("closed", 2, closed)] * 399,
        *[("upcoming", 2, {"opens_at": now + 2 * day, "closes_at": now + 20 * day,
                           "published": True})] * 200,
        *[("draft", 2, {"published": False})] * 100,
        *[("targeted", 3, {})] * 250,
    ]  # fmt: skip
    polls = []
    for i, (role, _n, overrides) in enumerate(plan):
        fields = {**open_window, **overrides}
        polls.append(
            Poll(
                title=f"[bench] {role} #{i}: 서울시 정책 설문",
                description="벤치마크용 설문입니다.",
                kind=Poll.Kind.SINGLE,
                department="bench",
                results_visibility=Poll.ResultsVisibility.LIVE,
                min_verification=10,
                **fields,
            )
        )
    polls = Poll.objects.bulk_create(polls, batch_size=1000)
    options = []
    for poll, (role, n, _o) in zip(polls, plan, strict=True):
        ds.polls.setdefault(role, []).append(poll.pk)
        options += [Option(poll=poll, label=f"선택지 {j + 1}", position=j) for j in range(n)]
    for option in Option.objects.bulk_create(options, batch_size=2000):
        ds.options.setdefault(option.poll_id, []).append(option.pk)
    through = Poll.districts.through
    through.objects.bulk_create(
        [through(poll_id=pid, district_id=rng.choice(other_gus)) for pid in ds.polls["targeted"]]
    )
    # Ceiling B's polls: fixed ids, so the replayed SQL can compute a poll's option ids.
    b_polls = [
        Poll(
            pk=B_POLL_BASE + k,
            title=f"[bench] product SQL replay #{k}",
            kind=Poll.Kind.SINGLE,
            results_visibility=Poll.ResultsVisibility.LIVE,
            min_verification=10,
            **open_window,
        )
        for k in range(B_POLLS)
    ]
    Poll.objects.bulk_create(b_polls)
    Option.objects.bulk_create(
        [
            Option(pk=b_option_id(p.pk, j), poll_id=p.pk, label=f"선택지 {j + 1}", position=j)
            for p in b_polls
            for j in range(B_OPTIONS_PER_POLL)
        ]
    )
    ds.polls["product_sql"] = [p.pk for p in b_polls]
    for p in b_polls:
        ds.options[p.pk] = [b_option_id(p.pk, j) for j in range(B_OPTIONS_PER_POLL)]
    ds.gus = gus
    ds.counts["polls"] = len(polls) + len(b_polls)
    ds.counts["polls_open_to_list_citizen"] = sum(
        len(ds.polls[r])
        for r in ("hot", "spread", "fanout", "drf", "read_small", "read_big", "open_other")
    ) + len(b_polls)

    ds.lap("polls")
    # --- Result reads: two open polls whose ballots are counted (board, counters, state).
    from voting import sealing

    counter = sealing.Counter()
    for role, n in (("read_small", read_small), ("read_big", read_big)):
        load_board(ds.poll(role), ds.options[ds.poll(role)], n, counter=counter, rng=rng)
    ds.counts.update(read_small_ballots=read_small, read_big_ballots=read_big)
    ds.lap("counted_ballots_for_reads")
    # The polls dashboards watch start with one counted batch: a dashboard that opens on a
    # withheld total (null) gets no frame after it — voting/consumers.py `_is_stale` compares
    # the null with the next total and raises (reported; this keeps the fan-out measurable).
    for role in WATCHED:
        load_board(ds.poll(role), ds.options[ds.poll(role)], WATCHED_PRELOAD, counter=counter,
                   rng=rng)  # fmt: skip
        ds.preloaded[ds.poll(role)] = WATCHED_PRELOAD
    ds.counts["watched_polls_preloaded_ballots"] = WATCHED_PRELOAD
    _sql("SET synchronous_commit = on")
    _sql("ANALYZE")
    ds.lap("analyze")
    ds.timings.pop("start", None)
    return ds


WATCHED = ("hot", "fanout")
WATCHED_PRELOAD = 100
BOARD_BATCH = 5_000  # ballots per board entry of the preloaded polls (BALLOT_BATCH_MAX's default)


def _choices(option_ids: list[int], n: int, rng: random.Random) -> list[int]:
    """``n`` single choices, skewed towards the first options (as real polls are)."""
    weights = [len(option_ids) - j for j in range(len(option_ids))]
    return rng.choices(option_ids, weights=weights, k=n)


def load_board(poll_id: int, option_ids: list[int], n: int, *, counter, rng: random.Random) -> None:
    """``n`` counted ballots in ``poll_id``, as the counter would have left them after counting
    them in batches of ``BOARD_BATCH``: board entries (sorted trackers, shuffled ballots, each
    entry's hash chained to the previous one by ``verifier.verify_board.entry_hash`` and signed by
    the counter's key), the receipt index (``BoardTracker``), the overall counters, the counter's
    state, and one participation per ballot (no account, as after the voters deleted theirs).

    The poll stays open, so there is no breakdown yet (the counter publishes it at the close)."""
    from django.utils import timezone

    from verifier.verify_board import GENESIS_PREV, entry_hash, signed_message
    from voting import tallies
    from voting.models import CountState

    chosen = _choices(option_ids, n, rng)
    rows, head, seq = [], GENESIS_PREV, 0
    counted_at = timezone.now() - timedelta(hours=1)
    for start in range(0, n, BOARD_BATCH):
        seq += 1
        batch = chosen[start : start + BOARD_BATCH]
        trackers = sorted(
            hashlib.sha256(f"bench-board:{poll_id}:{start + i}".encode()).hexdigest()
            for i in range(len(batch))
        )
        ballots = [[option] for option in batch]
        rng.shuffle(ballots)
        digest = entry_hash(poll_id, seq, head, trackers, ballots)
        signature = counter.sign(signed_message(poll_id, seq, digest))
        rows.append(
            (poll_id, seq, head, digest, signature, json.dumps(trackers), json.dumps(ballots),
             len(ballots), counted_at)
        )  # fmt: skip
        head = digest
    _copy(
        "voting_boardentry",
        ["poll_id", "seq", "prev", "hash", "signature", "trackers", "ballots", "size",
         "counted_at"],
        rows,
    )  # fmt: skip
    _sql(
        """
        INSERT INTO voting_boardtracker (tracker, entry_id)
        SELECT t, e.id FROM voting_boardentry e, jsonb_array_elements_text(e.trackers) AS t
        WHERE e.poll_id = %s
        """,
        [poll_id],
    )
    votes = Counter(chosen)
    tallies.add(
        poll_id=poll_id,
        counts={
            (*tallies.OVERALL, tallies.BALLOTS): n,
            **{(*tallies.OVERALL, option): k for option, k in votes.items()},
        },
    )
    CountState.objects.create(poll_id=poll_id, seq=seq, head=head, counted=n)
    load_participations(poll_id, n, label="bench-deleted-voter")


def load_participations(poll_id: int, n: int, *, label: str) -> None:
    """``n`` participations in ``poll_id`` without an account, each a distinct voter key."""
    _sql(
        """
        INSERT INTO voting_participation (id, poll_id, voter_id, voter_key, voted_on)
        SELECT gen_random_uuid(), %(poll)s, NULL,
               encode(sha256((%(label)s || ':' || %(poll)s || ':' || i)::bytea), 'hex'),
               current_date - (i %% 3)::int
        FROM generate_series(1::bigint, %(n)s::bigint) AS i
        """,
        {"poll": poll_id, "n": n, "label": label},
    )


AGE_BANDS = [10, 20, 20, 30, 30, 40, 40, 50, 50, 60, 70, 80]
GENDERS = ["female", "male", "female", "male", "undisclosed", "other"]


def load_envelopes(
    poll_id: int, option_ids: list[int], n: int, *, gus: list[str], rng: random.Random
) -> None:
    """``n`` sealed envelopes in ``poll_id``, as ``n`` citizens' ballots leave them: each sealed
    by the product's ``sealing.seal_envelope`` (the choice, gu, age band, gender and receipt
    tracker, padded to the poll's length) and copied in; plus their participations."""
    from voting import sealing

    chosen = _choices(option_ids, n, rng)
    rows = []
    for i, option in enumerate(chosen):
        payload = {
            "p": poll_id,
            "o": [option],
            "g": rng.choice(gus),
            "a": rng.choice(AGE_BANDS),
            "s": rng.choice(GENDERS),
            "t": hashlib.sha256(f"bench-count:{poll_id}:{i}".encode()).hexdigest(),
        }
        lookup = hashlib.sha256(f"bench-count-lookup:{poll_id}:{i}".encode()).hexdigest()
        rows.append((poll_id, sealing.seal_envelope(payload=payload, max_choices=1), lookup))
    _copy("voting_envelope", ["poll_id", "sealed", "lookup"], rows)
    load_participations(poll_id, n, label="bench-counted-voter")
