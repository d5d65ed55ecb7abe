"""Authentication through the cache (accounts/auth_cache.py): no query when warm, and revocation
that still bites.

The attacker holds a **stolen token** and keeps using it; every way the citizen or the service
takes the session back is tried after the token has warmed the cache. Through Django (the
session store, User save/delete) the next request is refused; behind Django's back (bulk SQL,
``QuerySet.update``) within ``SESSION_CACHE_SECONDS``, moved past with the ``clock`` fixture. The
**cache reader** finds no token, digest, id or phone number in keys or values. With the cache
**unreachable**, citizens are still served from the database. Runs on the embedded local-memory
cache and, with REDIS_URL set, on the real Redis.
"""

import logging

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts import auth_cache
from accounts.sessions import SessionStore, stored_key
from accounts.tokens import authenticate_by_session_token
from tests.conftest import make_session_token
from tests.factories import CitizenFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

NOOP = "/noop/"
LOGOUT = "/_allauth/app/v1/auth/session"
DEAD_REDIS = "redis://127.0.0.1:1/0"


class NoOp(APIView):
    """The cheapest authenticated view: what authentication costs is all it costs."""

    def get(self, request):
        return Response({"id": request.user.pk, "verification": request.user.verification})


# The project's URLs, and the no-op.
from config.urls import urlpatterns as _project  # noqa: E402

urlpatterns = [path("noop/", NoOp.as_view()), *_project]


def app(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    return client


def warm(token: str) -> APIClient:
    client = app(token)
    assert client.get(NOOP).status_code == 200  # reads both rows, fills the cache
    return client


def refused(client: APIClient) -> bool:
    response = client.get(NOOP)
    if response.status_code == 200:
        return False
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "invalid_session_token"
    return True


# --- Cost --------------------------------------------------------------------------------------


def test_a_warm_request_authenticates_without_a_query(django_assert_num_queries):
    """Promise: an authenticated no-op runs no query once the cache is warm, and the two it
    replaces (session row, User row) when cold."""
    token = make_session_token(CitizenFactory())
    client = app(token)

    with django_assert_num_queries(2):
        assert client.get(NOOP).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(NOOP).status_code == 200
    with django_assert_num_queries(0):
        assert authenticate_by_session_token(token) is not None


def test_a_session_written_is_read_again_from_the_database(django_assert_num_queries):
    """Promise: a save removes the entry rather than rewriting it (a rolled-back write can leave
    nothing behind): the next lookup reads the rows again (a cold session reads its user from
    the database too, so both entries are written in one round trip), then the cache once more."""
    token = make_session_token(CitizenFactory())
    warm(token)
    session = SessionStore(token)
    session["note"] = "x"
    session.save()

    with django_assert_num_queries(2):
        assert authenticate_by_session_token(token)[1]["note"] == "x"
    with django_assert_num_queries(0):
        assert authenticate_by_session_token(token)[1]["note"] == "x"


def test_last_seen_is_still_written_from_a_cached_session(settings):
    """Promise: "last seen" keeps working when the session comes from the cache."""
    from allauth.usersessions.models import UserSession

    user = CitizenFactory()
    token = make_session_token(user)
    UserSession.objects.create(user=user, session_key=stored_key(token), ip="198.51.100.1")
    UserSession.objects.update(last_seen_at="2000-01-01T00:00:00Z")
    warm(token)
    assert UserSession.objects.get().last_seen_at.year == 2000  # within the interval

    settings.SESSION_LAST_SEEN_INTERVAL = 0
    warm(token)

    assert UserSession.objects.get().last_seen_at.year > 2000


# --- Revocation through Django: at once -----------------------------------------------------


def test_logout_refuses_the_token_at_once():
    token = make_session_token(CitizenFactory())
    thief = warm(token)

    assert app(token).delete(LOGOUT).status_code == 401  # allauth: logged out

    assert refused(thief)


def test_a_flushed_or_deleted_session_is_refused_at_once():
    """The store's own ends (an official's expired token is flushed: accounts/officials_
    permissions.py; allauth's "end other sessions" deletes through it: accounts/sessions.py)."""
    flushed, deleted = (make_session_token(CitizenFactory()) for _ in range(2))
    thieves = [warm(flushed), warm(deleted)]

    SessionStore(flushed).flush()
    SessionStore().delete(deleted)

    assert [refused(thief) for thief in thieves] == [True, True]


def test_ending_another_session_refuses_it_at_once():
    from allauth.usersessions.models import UserSession

    user = CitizenFactory()
    lost, kept = make_session_token(user), make_session_token(user)
    for token in (lost, kept):
        UserSession.objects.create(user=user, session_key=stored_key(token), ip="198.51.100.1")
    thief = warm(lost)
    [other] = [s for s in UserSession.objects.all() if s.session_key == stored_key(lost)]

    other.end()  # what allauth's "end sessions" calls, by the stored digest

    assert refused(thief)
    assert not refused(app(kept))


def test_account_deletion_refuses_the_token_at_once():
    token = make_session_token(CitizenFactory())
    thief = warm(token)

    assert app(token).delete("/api/v1/me/").status_code == 204

    assert refused(thief)


def test_deactivation_refuses_the_token_at_once():
    user = CitizenFactory()
    thief = warm(make_session_token(user))

    user.is_active = False
    user.save()

    assert refused(thief)


def test_a_password_change_refuses_older_sessions_at_once():
    """The session's hash of the password no longer matches: Django's own path takes over and
    flushes the session."""
    user = CitizenFactory()
    thief = warm(make_session_token(user))

    user.set_password("a new password for this test")
    user.save()

    assert refused(thief)


def test_a_session_flushed_while_read_from_the_database_is_not_cached():
    """A cold session whose password hash is stale is flushed by Django's check: the entry read
    on the way in is not written after it, so the token stays refused."""
    user = CitizenFactory()
    token = make_session_token(user)
    user.set_password("a new password for this test")
    user.save()

    assert refused(app(token))

    assert cache.get(auth_cache.session_name(stored_key(token))) is None
    assert refused(app(token))


def test_a_changed_account_is_seen_by_the_next_request():
    user = CitizenFactory(verification=10)
    client = warm(make_session_token(user))

    user.verification = 20
    user.save(update_fields=["verification"])

    assert client.get(NOOP).json()["verification"] == 20


def test_saving_the_cached_user_never_writes_back_the_password():
    """The cached instance defers the password hash: saving it (a view that saves
    ``request.user``) cannot restore a password that was changed meanwhile."""
    user = CitizenFactory()
    token = make_session_token(user)
    warm(token)
    cached, _session = authenticate_by_session_token(token)
    type(user).objects.filter(pk=user.pk).update(password="changed-behind-the-instance")

    cached.display_name = "renamed"
    cached.save()

    user.refresh_from_db()
    assert (user.display_name, user.password) == ("renamed", "changed-behind-the-instance")


# --- Revocation behind Django's back: within SESSION_CACHE_SECONDS -----------------------------


@pytest.mark.parametrize("how", ["sql-delete-session", "sql-deactivate-user"])
def test_changes_behind_djangos_back_take_effect_within_the_bound(how, clock, settings):
    settings.SESSION_CACHE_SECONDS = 120
    user = CitizenFactory()
    token = make_session_token(user)
    thief = warm(token)

    if how == "sql-delete-session":
        Session.objects.filter(session_key=stored_key(token))._raw_delete(using="default")
    else:
        type(user).objects.filter(pk=user.pk).update(is_active=False)

    clock.advance(119)
    assert not refused(thief)  # still within the stated bound
    clock.advance(2)
    assert refused(thief)


def test_no_entry_outlives_its_session(clock, settings):
    """A session that expires before ``SESSION_CACHE_SECONDS`` is over is not served past its
    end (the entry's lifetime is capped by the session's)."""
    settings.SESSION_CACHE_SECONDS = 3600
    token = make_session_token(CitizenFactory())
    session = SessionStore(token)
    session.set_expiry(60)
    session.save()
    thief = warm(token)

    clock.advance(61)

    assert refused(thief)


def test_a_zero_bound_turns_the_cache_off(settings, django_assert_num_queries):
    settings.SESSION_CACHE_SECONDS = 0
    client = warm(make_session_token(CitizenFactory()))

    with django_assert_num_queries(2):
        assert client.get(NOOP).status_code == 200


# --- The cache reader ------------------------------------------------------------------------


def _entries(names: list[str]) -> list[tuple[str, bytes]]:
    return [(name, cache.get(name)) for name in names]


def test_the_cache_holds_no_token_digest_id_or_phone():
    """Attacker: reads every key and value the authentication cache wrote. Finds: HMAC-named
    keys and sealed values — no token, no stored digest, no user id, no phone number."""
    user = CitizenFactory(id=7_123_456_789, phone="+821055501234")
    token = make_session_token(user)
    warm(token)
    names = [auth_cache.session_name(stored_key(token)), auth_cache._user_name(user.pk)]

    entries = _entries(names)

    assert all(isinstance(value, bytes) for _name, value in entries)
    secrets = [token, stored_key(token), str(user.pk), user.phone, user.phone.lstrip("+")]
    for name, value in entries:
        for secret in secrets:
            assert secret not in name
            assert secret.encode() not in value


def test_a_forged_or_swapped_entry_is_ignored():
    """Attacker: can write to the cache. An entry of their making, or another session's entry
    moved under this session's name, opens to nothing: the database answers."""
    victim = CitizenFactory()
    attacker = CitizenFactory()
    victim_token = make_session_token(victim)
    attacker_token = make_session_token(attacker)
    warm(attacker_token)
    name = auth_cache.session_name(stored_key(victim_token))

    cache.set(name, b"\x00" * 64)
    assert app(victim_token).get(NOOP).json()["id"] == victim.pk
    cache.set(name, cache.get(auth_cache.session_name(stored_key(attacker_token))))
    assert app(victim_token).get(NOOP).json()["id"] == victim.pk


# --- Cache down -------------------------------------------------------------------------------


def test_cache_down_falls_back_to_the_database_and_logs_no_secret(settings, caplog):
    """Operator: Redis is unreachable (the cache points at a port nothing listens on). Citizens
    are served from the database — no 500, no lockout — logging out still works, and the log
    says the cache failed without naming the token, its digest or the cache key."""
    token = make_session_token(CitizenFactory())
    warm(token)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
            "KEY_FUNCTION": "core.cache_keys.make_key",
        }
    }

    with caplog.at_level(logging.WARNING, logger="accounts.auth_cache"):
        assert app(token).get(NOOP).status_code == 200
        assert app(token).delete(LOGOUT).status_code == 401
        assert refused(app(token))

    lines = [record.getMessage() for record in caplog.records]
    assert any("auth cache read failed" in line for line in lines)
    name = auth_cache.session_name(stored_key(token))
    for line in lines:
        assert token not in line and stored_key(token) not in line and name not in line


def test_session_data_is_what_the_database_holds():
    token = make_session_token(user := CitizenFactory())
    _user, session = authenticate_by_session_token(token)  # cold: filled from the row
    _user, cached = authenticate_by_session_token(token)
    assert cached[SESSION_KEY] == session[SESSION_KEY] == str(user.pk)
