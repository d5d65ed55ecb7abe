"""How an app's session token finds its session."""

import time

from allauth.headless.internal import sessionkit
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy
from django.apps import apps
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.db import DatabaseError
from django.utils import timezone

from accounts import auth_cache
from accounts.sessions import LAST_SEEN_KEY, SessionStore, stored_key


def authenticate_by_session_token(token: str) -> tuple | None:
    """(user, session) for an app's session token, or None: allauth's
    ``authenticate_by_x_session_token`` with the session and the user read through the cache
    (accounts/auth_cache.py) — no query on a warm cache, two on a cold one."""
    from allauth.headless import app_settings

    strategy = app_settings.TOKEN_STRATEGY
    if isinstance(strategy, OneQuerySessionTokenStrategy):
        session = strategy.lookup_session(token, defer_cache_fill=True)
    else:
        session = strategy.lookup_session(token)
    if not session:
        return None
    fill = session.cache_fill if isinstance(session, SessionStore) else None
    user = auth_cache.session_user(session, session_fill=fill)
    if user is None:
        return None
    return (user, session)


class OneQuerySessionTokenStrategy(SessionTokenStrategy):
    """allauth's session tokens, looked up in one query instead of two (none on a cache hit).

    The stock strategy asks ``exists()`` and then loads the session; loading alone tells the
    same (a missing or expired session comes back without a key). Every authenticated API
    request — every ballot — pays for this lookup. The key is hashed before the query
    (accounts/sessions.py).
    """

    def lookup_session(
        self, session_token: str, *, defer_cache_fill: bool = False
    ) -> SessionBase | None:
        session = sessionkit.session_store(session_token)
        if isinstance(session, SessionStore):
            session.defer_cache_fill = defer_cache_fill
        session.get(SESSION_KEY)  # loads it
        if not session.session_key:
            return None
        _note_last_seen(session)
        return session


def _note_last_seen(session: SessionBase) -> None:
    """Keep the citizen's session list's "last seen" roughly current, at a bounded cost.

    Written at most once per ``SESSION_LAST_SEEN_INTERVAL`` seconds per session (two UPDATEs:
    the session's record and allauth's list row); every other request reads the time from the
    session it has loaded anyway, so the one-query lookup stays one query.
    """
    now = time.time()
    if now - session.get(LAST_SEEN_KEY, 0) < settings.SESSION_LAST_SEEN_INTERVAL:
        return
    session[LAST_SEEN_KEY] = int(now)
    try:
        session.save()
    except (UpdateError, DatabaseError):
        # Best effort: the session was ended meanwhile (its row is gone: Django's UpdateError)
        # or the database just failed. Neither is this request's business — the view's own
        # queries answer for the database (503), and the next request tries again.
        return
    if apps.is_installed("allauth.usersessions"):
        from allauth.usersessions.models import UserSession

        UserSession.objects.filter(session_key=stored_key(session.session_key)).update(
            last_seen_at=timezone.now()
        )
