"""Housekeeping of sessions (accounts/housekeeping.py), run from the beat schedule as
``accounts.tasks.clear_expired_sessions``.

Sessions are read through the cache (accounts/auth_cache.py). The promise here: deleting an
expired row brings nothing back — not the session, through a cache entry warmed while it was
alive, and not the row, through a request that still carries its token.
"""

from importlib import import_module

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from rest_framework.test import APIClient

from accounts import housekeeping
from accounts.sessions import SessionStore, stored_key
from config import tasks_in_process
from config.celery import app
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

TASK = "accounts.tasks.clear_expired_sessions"
ME = "/api/v1/me/"
HOUR = 3600


def token_for(user, *, seconds: int) -> str:
    """An app session token, as allauth's login returns it, that expires in ``seconds``."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.set_expiry(seconds)
    store.create()
    return store.session_key


def listed(user, token: str) -> UserSession:
    """The citizen's session list's row for ``token`` (allauth.usersessions keeps the digest)."""
    return UserSession.objects.create(
        user=user, session_key=stored_key(token), ip="203.0.113.7", user_agent="mVoting/1.0"
    )


def me(token: str) -> int:
    return APIClient().get(ME, HTTP_X_SESSION_TOKEN=token).status_code


def run_scheduled() -> dict[str, int]:
    app.autodiscover_tasks(force=True)
    return app.tasks[TASK].apply().get()


def test_the_schedule_runs_the_clearing():
    app.autodiscover_tasks(force=True)
    assert TASK in tasks_in_process.scheduled_tasks()
    assert TASK in app.tasks


def test_expired_sessions_go_live_ones_stay_and_nothing_comes_back(settings, clock):
    """The cache would keep an entry for a day (longer than the session lives): the entry is
    capped at the row's expiry all the same, the expired row goes, the live one stays, and the
    old token, tried after the purge, neither authenticates nor writes a row back."""
    settings.SESSION_CACHE_SECONDS = 86_400
    citizen = CitizenFactory()
    short = token_for(citizen, seconds=HOUR)
    long = token_for(citizen, seconds=30 * 24 * HOUR)
    listed(citizen, short)
    kept = listed(citizen, long)
    assert me(short) == 200 and me(long) == 200  # both warm in the cache now

    clock.advance(2 * HOUR)
    assert me(short) == 401  # expired: refused before any housekeeping
    assert run_scheduled() == {"sessions": 1, "user_sessions": 1}

    assert set(Session.objects.values_list("session_key", flat=True)) == {stored_key(long)}
    assert list(UserSession.objects.all()) == [kept]
    assert me(short) == 401
    assert SessionStore(short).load() == {}
    assert Session.objects.count() == 1  # the refused token wrote nothing back
    assert me(long) == 200

    assert run_scheduled() == {"sessions": 0, "user_sessions": 0}  # twice is once
    assert Session.objects.count() == 1 and UserSession.objects.count() == 1


def test_a_session_list_row_without_its_session_goes(clock):
    """A citizen who never opens their list of sessions would otherwise keep an address and a
    user agent per login for ever (allauth drops them only when the list is read)."""
    citizen = CitizenFactory()
    live = token_for(citizen, seconds=HOUR)
    kept = listed(citizen, live)
    UserSession.objects.create(
        user=citizen, session_key="f" * 40, ip="198.51.100.1", user_agent="old phone"
    )
    assert run_scheduled() == {"sessions": 0, "user_sessions": 1}
    assert list(UserSession.objects.all()) == [kept]


def test_a_run_is_bounded_and_the_next_goes_on(clock):
    citizen = CitizenFactory()
    for _ in range(5):
        token_for(citizen, seconds=60)
    live = token_for(citizen, seconds=HOUR)
    clock.advance(120)

    assert housekeeping.clear_expired_sessions(batch_size=2, max_batches=2) == 4
    assert Session.objects.count() == 2
    assert housekeeping.clear_expired_sessions(batch_size=2, max_batches=2) == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [stored_key(live)]
