import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import import_module

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from rest_framework.test import APIClient

from tests.factories import CitizenFactory, OfficialFactory


def _commits(item) -> bool:
    """Whether ``item`` commits to the database (``transaction=True``, ``transactional_db``,
    ``live_server``), as pytest-django tells them apart to run them last."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and (
        marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
    ):
        return True
    fixtures = getattr(item, "fixturenames", ())
    return "transactional_db" in fixtures or "live_server" in fixtures


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # CI runs the PostgreSQL suite as two processes side by side, each with its own test
    # database and key prefixes (.ci/run): TEST_SPLIT=commits takes the tests that commit (they
    # start servers and counters, and are the slow half), TEST_SPLIT=rollback the others.
    split = os.environ.get("TEST_SPLIT")
    if split in ("commits", "rollback"):
        keep, drop = [], []
        for item in items:
            (keep if _commits(item) == (split == "commits") else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    elif split:
        raise pytest.UsageError(f"TEST_SPLIT={split!r}: use 'commits' or 'rollback'")
    # Tests that need the real services say so with a marker; without them they skip, saying why.
    on_postgres = settings.DATABASE_IS_POSTGRES
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
            )
        if "redis" in item.keywords and not has_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://..."))


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup, django_db_blocker):
    """Close PostgreSQL pools before the test database is dropped: pooled connections left
    open by worker threads would otherwise keep it "in use by other sessions"."""
    yield
    from django.db import connections

    for conn in connections.all():
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


@pytest.fixture(autouse=True)
def _isolate_cache_and_sms(settings):
    """Every test starts with empty rate-limit counters and an empty SMS outbox.

    A key prefix of its own rather than cache.clear(): on Redis, clear() is FLUSHDB, which would
    also wipe the channel layer's groups of anything else using that Redis.
    """
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    prefix = f"test-{uuid.uuid4().hex}"
    for config in caches.values():
        config["KEY_PREFIX"] = prefix
    settings.CACHES = caches
    settings.SMS_BACKEND = "accounts.sms.InMemorySMSBackend"
    # Views run inline, in the test's thread and transaction (servers started by tests, and
    # the benchmark, run them on worker threads as production does).
    settings.API_WORKER_THREADS = 0
    # Each test starts with a cold per-process cache of district ancestry, so query counts
    # do not depend on which tests ran before.
    from voting import eligibility

    eligibility._ANCESTRY.clear()
    try:
        from accounts import sms

        sms.outbox.clear()
    except (ImportError, AttributeError):
        pass
    settings.PUSH_BACKEND = "notifications.push.InMemoryPushBackend"
    # Pushes are withheld at night in Seoul; tests run at any hour (tests/notifications cover it).
    settings.NOTIFY_QUIET_HOURS = ""
    from notifications import push

    push.outbox.clear()
    yield


@pytest.fixture(autouse=True)
def _client_logins_pass_second_factor(monkeypatch):
    """The test client's login shortcuts (``force_login``, ``login``) skip every login form, the
    officials' second factor included: an official they log in has passed it, as after the real
    form. The product enforces it everywhere (OFFICIAL_MFA_REQUIRED is on); the tests of the
    second factor itself never use these shortcuts (tests/accounts/test_official_mfa.py)."""
    from django.test.client import ClientMixin

    login, alogin = ClientMixin._login, ClientMixin._alogin

    def _login(self, user, backend=None):
        login(self, user, backend)
        if user.is_staff or user.is_superuser:
            session = self.session
            pass_second_factor(session, user)
            session.save()

    async def _alogin(self, user, backend=None):
        await alogin(self, user, backend)
        if user.is_staff or user.is_superuser:
            from asgiref.sync import sync_to_async

            session = await self.asession()
            await sync_to_async(pass_second_factor)(session, user)
            await session.asave()

    monkeypatch.setattr(ClientMixin, "_login", _login)
    monkeypatch.setattr(ClientMixin, "_alogin", _alogin)


@pytest.fixture(scope="session", autouse=True)
def _tasks_run_in_the_test():
    """Celery tasks run eagerly, and events are delivered when a test calls for it: nothing is
    sent to a broker no worker reads. The worker tests (tests/notifications/test_worker.py)
    start real workers, which read the environment, not this."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield


@pytest.fixture
def api() -> APIClient:
    return APIClient()


class Clock:
    """The test's clock: it stands still until the test moves it, and moves ``time.time()``,
    ``datetime.now()`` and ``date.today()`` together (time-machine), so allauth's rate limits,
    the cache's expiry, the SMS budget's windows, ``timezone.now()`` and ages all agree.

    The databases' own ``now()`` keeps the real time (whether a poll is open is the database's
    answer: voting/eligibility.py), so tests of polls move the clock by minutes or hours, not
    to another year. ``time.monotonic()`` and ``time.sleep()`` keep real time too."""

    def __init__(self, traveller: time_machine.Traveller) -> None:
        self._traveller = traveller

    @property
    def now(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:
        self._traveller.shift(seconds)

    def move_to(self, when: datetime | float) -> None:
        self._traveller.move_to(when)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Time stands still at the moment the test starts: the year, the day and the hour cannot
    turn between what a test computes (a birth year, a deadline) and what the product checks."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture
def window_clock(clock: Clock) -> Clock:
    """``clock`` at 01:00:00.5 UTC of today: the windows counted in UTC hours and days (allauth's
    rate limits, the SMS budget) start with the test, so an hour of attack fits in one day."""
    clock.move_to(clock.now // 86400 * 86400 + 3600 + 0.5)
    return clock


def pass_second_factor(session, user) -> None:
    """Record in ``session`` that ``user`` passed a second factor, as allauth.mfa records it
    (accounts/officials_auth.py reads this record). Officials' sessions need it for the admin,
    the dashboards and the officials' API; tests/accounts/test_official_mfa.py earns it through
    the real login form instead."""
    from allauth.account.internal.flows import login as allauth_login

    records = session.get(allauth_login.AUTHENTICATION_METHODS_SESSION_KEY) or []
    session[allauth_login.AUTHENTICATION_METHODS_SESSION_KEY] = [
        *records,
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session[allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)


def make_session_token(user) -> str:
    """A real allauth app session token for ``user``, as the login flow would return it (for
    an official, a login that passed the second factor)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if user.is_staff or user.is_superuser:
        pass_second_factor(store, user)
    store.create()
    return store.session_key


@pytest.fixture
def citizen(db):
    return CitizenFactory()


@pytest.fixture
def official(db):
    return OfficialFactory()


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """An API client that sends ``user``'s session token, as the app does."""

    def build(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_X_SESSION_TOKEN=make_session_token(user))
        return client

    return build


@pytest.fixture
def citizen_api(citizen, client_for) -> APIClient:
    return client_for(citizen)


@pytest.fixture(autouse=True)
def _districts_survive_flush(request):
    """Transactional tests end with a flush that empties every table, Seoul's districts too
    (they come from a data migration). Put them back before each such test, so test order
    never matters."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        from districts.loaders import load_seoul
        from districts.models import District

        if not District.objects.exists():
            load_seoul()
