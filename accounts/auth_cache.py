"""Authentication without a database round trip: sessions and users served from the cache.

Every authenticated request used to pay two ORM queries before its view ran (the session row,
then the User row): 68% of an authenticated no-op's time (profiled in-process). Both are now read
from the cache (Redis in production, local memory under ``make run``) with the database behind
it, as Django's ``cached_db`` sessions do, with three differences:

- **Nothing in the cache names anyone.** Keys are HMACs under ``SECRET_KEY`` of the session's
  stored digest (never the token) and of the user's id; values are sealed (AES-GCM). A session's
  entry is sealed under a key derived from the *token*, which exists only in the client and in
  the request that carries it: a Redis reader, even one who also has the database (the digests)
  and ``SECRET_KEY``, cannot open it. A user's entry is sealed under ``SECRET_KEY``. The
  secret-ballot watcher (tests/security/test_secrecy_redis_and_logs.py) sees only opaque bytes.
- **The cache holds only what was read from the database.** A write (session save, User save or
  delete) removes the entry, now and again when the transaction commits, instead of writing the
  new value: a rolled-back login can leave nothing in the cache that the database never held.
- **Entries carry their own expiry** (``SESSION_CACHE_SECONDS``, capped by the session's), checked
  on every read, so the bound holds whatever the cache's own clock does.

Revocation through the session store (logout, ending sessions, cycle_key) or through the User
model (save, delete: deactivation, password change, account deletion) is immediate. Changes made
behind Django's back (bulk SQL, ``QuerySet.update()``, a restore) are seen within
``SESSION_CACHE_SECONDS``. If the cache fails, authentication reads the database: the failure is
logged by its type only (no key, no token), and nothing is refused for it.
"""

import hashlib
import hmac
import logging
import os
import pickle
import struct
import time
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.db import router, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.crypto import constant_time_compare

logger = logging.getLogger(__name__)

_NONCE = 12
_EXPIRY = struct.Struct(">d")
# Bumped when an entry's layout changes: old entries are then simply misses.
_VERSION = "1"
_AUTH_HASH = "__auth_hash__"


def _cache():
    return caches[settings.SESSION_CACHE_ALIAS]


@lru_cache(maxsize=4)
def _server_keys(secret: str) -> tuple[bytes, bytes]:
    """(key of the cache keys' HMAC, key that seals users' entries), both from ``SECRET_KEY``."""
    root = hashlib.sha256(f"mvoting.auth-cache:{secret}".encode()).digest()
    return (
        hmac.new(root, b"names", hashlib.sha256).digest(),
        hmac.new(root, b"users", hashlib.sha256).digest(),
    )


def _name(kind: str, ident: str) -> str:
    names, _seal = _server_keys(settings.SECRET_KEY)
    digest = hmac.new(names, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"auth:{_VERSION}:{kind}:{digest}"


def session_name(stored_key: str) -> str:
    """The cache key of the session whose row is keyed ``stored_key`` (its digest)."""
    return _name("s", stored_key)


def _token_seal(token: str) -> bytes:
    # Not derivable from the stored digest (sha256(token)): another hash, another domain.
    return hashlib.sha256(f"mvoting.session-seal:{token}".encode()).digest()


def _seal(key: bytes, name: str, value: Any, seconds: float) -> bytes:
    nonce = os.urandom(_NONCE)
    plain = _EXPIRY.pack(time.time() + seconds) + pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return nonce + AESGCM(key).encrypt(nonce, plain, name.encode())


def _open(key: bytes, name: str, sealed: Any) -> Any:
    """The value sealed under ``key`` for ``name``, or None if absent, forged or out of date."""
    if not isinstance(sealed, bytes) or len(sealed) <= _NONCE:
        return None
    try:
        plain = AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], name.encode())
    except InvalidTag:
        return None  # another SECRET_KEY, another token, or tampered with
    (expires,) = _EXPIRY.unpack_from(plain)
    if time.time() >= expires:
        return None
    return pickle.loads(plain[_EXPIRY.size :])  # noqa: S301 — unpickles only what AES-GCM authenticated


def _failed(action: str, error: Exception) -> None:
    # The type only: a cache error's text may carry the key, and the key must stay out of logs.
    logger.warning("auth cache %s failed (%s): using the database", action, type(error).__name__)


# Any failure of any cache backend (connection, timeout, a bad key) falls back to the database.
def _get(name: str) -> Any:
    try:
        return _cache().get(name)
    except Exception as error:
        _failed("read", error)
        return None


def _set(name: str, value: bytes, seconds: float) -> None:
    try:
        _cache().set(name, value, timeout=max(1, int(seconds)))
    except Exception as error:
        _failed("write", error)


def _forget(name: str) -> None:
    try:
        _cache().delete(name)
    except Exception as error:
        _failed("delete", error)


def forget(name: str) -> None:
    """Remove an entry now and, inside a transaction, again once it commits.

    The second delete closes the window in which a concurrent request reads the row as it was
    before this transaction's change (not yet committed) and puts it back in the cache.
    """
    _forget(name)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _forget(name))


def _lifetime(seconds: float) -> float:
    return min(float(settings.SESSION_CACHE_SECONDS), seconds)


# --- Sessions (accounts/sessions.py) -------------------------------------------------------------


def cached_session(*, stored_key: str, token: str) -> dict | None:
    """The session data cached for ``token`` (whose digest is ``stored_key``), if any."""
    if settings.SESSION_CACHE_SECONDS <= 0:
        return None
    name = session_name(stored_key)
    data = _open(_token_seal(token), name, _get(name))
    return data if isinstance(data, dict) else None


# A filled entry not yet written: (cache key, sealed value, lifetime in seconds).
Fill = tuple[str, bytes, float]


def session_fill(*, stored_key: str, token: str, data: dict, seconds: float) -> Fill | None:
    lifetime = _lifetime(seconds)
    if lifetime <= 0:
        return None
    name = session_name(stored_key)
    return (name, _seal(_token_seal(token), name, data, lifetime), lifetime)


def write(*fills: Fill | None) -> None:
    """Write entries; several in one round trip (``set_many``: a pipeline on Redis)."""
    entries = [fill for fill in fills if fill is not None]
    if len(entries) == 1:
        _set(*entries[0])
    elif entries:
        lifetime = min(seconds for _name, _value, seconds in entries)
        try:
            _cache().set_many(
                {name: value for name, value, _s in entries}, timeout=max(1, int(lifetime))
            )
        except Exception as error:
            _failed("write", error)


# --- Users ------------------------------------------------------------------------------------


def _user_name(user_id: Any) -> str:
    return _name("u", str(user_id))


def _cached_fields() -> list[str]:
    # The password hash stays out of the cache and out of the instance: deferred, so a save of
    # the cached instance never writes back a password that changed meanwhile.
    return [f.attname for f in get_user_model()._meta.concrete_fields if f.attname != "password"]


def _entry(user) -> dict:
    entry = {name: getattr(user, name) for name in _cached_fields()}
    entry[_AUTH_HASH] = user.get_session_auth_hash()
    return entry


def _user_from(entry: dict):
    User = get_user_model()
    names = _cached_fields()
    return User.from_db(router.db_for_read(User), names, [entry[name] for name in names])


def _cached_entry(user_id: Any) -> dict | None:
    if settings.SESSION_CACHE_SECONDS <= 0:
        return None
    name = _user_name(user_id)
    _names, seal = _server_keys(settings.SECRET_KEY)
    entry = _open(seal, name, _get(name))
    if not isinstance(entry, dict) or set(entry) != {*_cached_fields(), _AUTH_HASH}:
        return None  # absent, or written by a version with other fields
    return entry


def _user_fill(user) -> Fill | None:
    lifetime = _lifetime(float("inf"))
    if lifetime <= 0:
        return None
    name = _user_name(user.pk)
    _names, seal = _server_keys(settings.SECRET_KEY)
    return (name, _seal(seal, name, _entry(user), lifetime), lifetime)


def session_user(session: SessionBase, *, session_fill: Fill | None = None):
    """The active user ``session`` belongs to, or None: ``django.contrib.auth.get_user``'s
    answer, with the User row read from the cache when its entry's session hash matches.

    ``session_fill``: the session was just read from the database and its entry is still to be
    written. Its user's entry is then most likely cold too (both are filled together), so the
    cache is not asked for it: both are written in one round trip after the User row is read.
    A cold request costs one cache read and one write besides its two queries.

    Anything unusual (no or another hash — a password changed, a key rotated —, a backend no
    longer configured, an entry missing) takes Django's own path, which also flushes a session
    whose hash no longer matches.
    """
    from allauth.core.internal.sessionkit import get_session_user

    token = session.session_key
    user_fill = None
    try:
        try:
            user_id = session[SESSION_KEY]
            backend_path = session[BACKEND_SESSION_KEY]
        except KeyError:
            return None
        session_hash = session.get(HASH_SESSION_KEY)
        entry = None
        if session_fill is None and backend_path in settings.AUTHENTICATION_BACKENDS:
            entry = _cached_entry(user_id)
        if (
            entry is not None
            and session_hash
            and constant_time_compare(session_hash, entry[_AUTH_HASH])
        ):
            user = _user_from(entry)
            # What both configured backends (ModelBackend's) check in get_user.
            return user if user.is_active else None
        if session_hash and settings.SECRET_KEY_FALLBACKS:
            _rehash_after_rotation(session, user_id, backend_path, session_hash)
        user = get_session_user(session)
        if user is not None:
            user_fill = _user_fill(user)
        return user
    finally:
        # A session flushed (a stale hash) or saved meanwhile is not written back as it was.
        if session.session_key != token or session.modified:
            session_fill = None
        write(session_fill, user_fill)


def _rehash_after_rotation(
    session: SessionBase, user_id: Any, backend_path: str, session_hash: str
) -> None:
    """SECRET_KEY was rotated with the old key in SECRET_KEY_FALLBACKS, and this session's hash
    is the old key's: give it the new key's hash, under the same key. Django's get_user would
    cycle the session key instead, which keeps a browser signed in but signs a phone out — an
    app's token is the session key (docs/operations/secrets.md)."""
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return
    user = load_backend(backend_path).get_user(user_id)
    if user is None or constant_time_compare(session_hash, user.get_session_auth_hash()):
        return
    fallbacks = getattr(user, "get_session_auth_fallback_hash", None)
    if fallbacks is None or not any(constant_time_compare(session_hash, h) for h in fallbacks()):
        return
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()


def _user_changed(sender, instance, **kwargs) -> None:
    forget(_user_name(instance.pk))


def connect_signals() -> None:
    """Drop a user's entry when the User row is saved or deleted (from ``AccountsConfig.ready``):
    a deactivated, deleted or re-passworded account is seen by the next request."""
    User = get_user_model()
    post_save.connect(_user_changed, sender=User, dispatch_uid="accounts.auth_cache.save")
    post_delete.connect(_user_changed, sender=User, dispatch_uid="accounts.auth_cache.delete")
