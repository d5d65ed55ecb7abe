"""Sessions whose keys are worth nothing at rest.

The key a client holds — the app's ``X-Session-Token``, the browser's ``sessionid`` cookie, an
official's admin cookie — is never written to the database: ``django_session.session_key`` (and
allauth's ``usersessions_usersession.session_key``) hold ``stored_key(token)``, a SHA-256 digest.
Every lookup hashes what the client sent, so a digest read from the database and presented as a
token or cookie is hashed again and finds nothing.

Why an unkeyed hash: the tokens are 40 random characters of ``[a-z0-9]`` (206 bits), so nobody
can search for a preimage of a digest; a key (HMAC) would only protect guessable secrets, and would
add a secret whose rotation logs every citizen out. The digest is cut to 40 hex characters
(160 bits), the width of both tables' columns, so no schema change was needed.

Sessions are read through the cache (accounts/auth_cache.py: Django's ``cached_db`` semantics,
keyed by an HMAC of the digest, sealed under a key derived from the token): a warm lookup costs no
query. Writes and deletes remove the cache entry; only reads fill it.

``SESSION_ENGINE = "accounts.sessions"``.
"""

import hashlib
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts import auth_cache

TOKEN_LENGTH = 40
# In the session's data: when its "last seen" was last written (epoch seconds).
LAST_SEEN_KEY = "_last_seen"
# Longer keys are refused before any hashing or query: no key this store issued is longer.
MAX_TOKEN_LENGTH = 64
STORED_KEY_LENGTH = 40
_VALID = frozenset(VALID_KEY_CHARS)


def stored_key(token: str) -> str:
    """What the database keeps for the session key ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()[:STORED_KEY_LENGTH]


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, keyed in the database by the digest of the client's key.

    ``session_key`` (what goes back to the client) stays the token; only the rows change. A
    lookup is one query (``SELECT … WHERE session_key = digest``) on a cache miss, none on a hit.
    """

    # Whether this store reads the cache: only a store that holds the client's token can open
    # the sealed entry (see ``_StoredSessionStore``).
    _reads_cache = True
    # The token lookup (accounts/tokens.py) writes a session's entry itself, with its user's, in
    # one round trip: ``load`` then leaves the entry it filled in ``cache_fill``.
    defer_cache_fill = False
    cache_fill: auth_cache.Fill | None = None

    def load(self) -> dict:
        key = self.session_key
        if self._reads_cache and key is not None:
            data = auth_cache.cached_session(stored_key=self._db_key(key), token=key)
            if data is not None:
                return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        if self._reads_cache and key is not None:
            fill = auth_cache.session_fill(
                stored_key=self._db_key(key),
                token=key,
                data=data,
                seconds=self.get_expiry_age(expiry=row.expire_date),
            )
            if self.defer_cache_fill:
                self.cache_fill = fill
            else:
                auth_cache.write(fill)
        return data

    async def aload(self) -> dict:
        return await sync_to_async(self.load)()

    def _forget_cached(self, session_key: str | None) -> None:
        self.cache_fill = None  # what was read is out of date
        if session_key is not None and self._validate_session_key(session_key):
            auth_cache.forget(auth_cache.session_name(self._db_key(session_key)))

    def _db_key(self, session_key: str) -> str:
        return stored_key(session_key)

    def _validate_session_key(self, key: Any) -> bool:
        # Anything that is not a key this store could have issued (NUL bytes, other alphabets,
        # 10 kB of junk) is no session, without reaching the database.
        return (
            isinstance(key, str)
            and 8 <= len(key) <= MAX_TOKEN_LENGTH
            and all(char in _VALID for char in key)
        )

    def _get_new_session_key(self) -> str:
        while True:
            session_key = get_random_string(TOKEN_LENGTH, VALID_KEY_CHARS)
            if not self.exists(session_key):
                return session_key

    def save(self, must_create: bool = False) -> None:
        # A session is seen when it is written: the token lookup then need not write "last
        # seen" on the requests that follow (accounts/tokens.py).
        if self.session_key is not None:
            self._get_session(no_load=must_create).setdefault(LAST_SEEN_KEY, int(time.time()))
        super().save(must_create=must_create)
        # Removed, not rewritten: the next read fills it from what the database committed.
        self._forget_cached(self.session_key)

    async def asave(self, must_create: bool = False) -> None:
        if self.session_key is not None:
            session = await self._aget_session(no_load=must_create)
            session.setdefault(LAST_SEEN_KEY, int(time.time()))
        await super().asave(must_create=must_create)
        await sync_to_async(self._forget_cached)(self.session_key)

    async def _aget_new_session_key(self) -> str:
        while True:
            session_key = get_random_string(TOKEN_LENGTH, VALID_KEY_CHARS)
            if not await self.aexists(session_key):
                return session_key

    def _get_session_from_db(self):
        if self.session_key is None:
            return None
        try:
            return self.model.objects.get(
                session_key=self._db_key(self.session_key), expire_date__gt=timezone.now()
            )
        except self.model.DoesNotExist:
            self._session_key = None
            return None

    async def _aget_session_from_db(self):
        if self.session_key is None:
            return None
        try:
            return await self.model.objects.aget(
                session_key=self._db_key(self.session_key), expire_date__gt=timezone.now()
            )
        except self.model.DoesNotExist:
            self._session_key = None
            return None

    def exists(self, session_key: str) -> bool:
        if not self._validate_session_key(session_key):
            return False
        return self.model.objects.filter(session_key=self._db_key(session_key)).exists()

    async def aexists(self, session_key: str) -> bool:
        if not self._validate_session_key(session_key):
            return False
        return await self.model.objects.filter(session_key=self._db_key(session_key)).aexists()

    def create_model_instance(self, data: dict):
        return self.model(
            session_key=self._db_key(self._get_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data: dict):
        return self.model(
            session_key=self._db_key(await self._aget_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if not self._validate_session_key(session_key):
            return
        self.model.objects.filter(session_key=self._db_key(session_key)).delete()
        self._forget_cached(session_key)

    async def adelete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if not self._validate_session_key(session_key):
            return
        await self.model.objects.filter(session_key=self._db_key(session_key)).adelete()
        await sync_to_async(self._forget_cached)(session_key)


class _StoredSessionStore(SessionStore):
    """The server's own handle on a row it found by its stored digest (allauth's session list).

    Never built from anything a client sent: that would make the digest a token again. It does
    not hold the token, so it cannot open the cached entry: it reads the database, and its
    writes and deletes remove the entry all the same.
    """

    _reads_cache = False

    # The data is signed with a salt named after the class: the same as the engine's own.
    key_salt = "django.contrib.sessions.SessionStore"

    def _db_key(self, session_key: str) -> str:
        return session_key

    def _validate_session_key(self, key: Any) -> bool:
        return isinstance(key, str) and len(key) == STORED_KEY_LENGTH


def stored_session(digest: str) -> SessionStore:
    """The session whose row is keyed ``digest`` (read from the database, never from a client)."""
    return _StoredSessionStore(digest)


# --- allauth.usersessions: the citizen's list of sessions, keyed by the digest too --------------


def install_usersessions_digests() -> None:
    """Make ``allauth.usersessions`` keep the digest of each session key, not the key.

    allauth offers no hook for what it stores, so its four methods that touch the key are
    replaced (called once, from ``AccountsConfig.ready``). tests/accounts/test_sessions.py fails
    if an allauth upgrade changes what they do.
    """
    from allauth.core import context
    from allauth.core.internal.sessionkit import get_session_user
    from allauth.usersessions.models import UserSession, UserSessionManager

    original_create_from_request = UserSessionManager.create_from_request

    def create_from_request(self, request) -> None:
        if not request.session.session_key:
            request.session.save()
        # allauth looks the row up by ``request.session.session_key``; it sees the digest.
        request_for_allauth = _RequestWithStoredKey(request)
        original_create_from_request(self, request_for_allauth)

    def is_current(self) -> bool:
        key = context.request.session.session_key
        return bool(key) and self.session_key == stored_key(key)

    def exists(self) -> bool:
        return stored_session(self.session_key).exists(self.session_key)

    def purge(self) -> bool:
        purge = not self.exists() or not get_session_user(stored_session(self.session_key))
        if purge:
            self.delete()
        return purge

    def end(self) -> None:
        stored_session(self.session_key).delete()
        self.delete()

    UserSessionManager.create_from_request = create_from_request
    UserSession.is_current = is_current
    UserSession.exists = exists
    UserSession.purge = purge
    UserSession.end = end


class _RequestWithStoredKey:
    """``request`` as allauth's ``create_from_request`` reads it, with the session's digest."""

    def __init__(self, request) -> None:
        self._request = request
        self.session = _SessionWithStoredKey(request.session)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class _SessionWithStoredKey:
    def __init__(self, session) -> None:
        self._session = session
        self.session_key = stored_key(session.session_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)
