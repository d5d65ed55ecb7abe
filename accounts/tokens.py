"""How an app's session token finds its session."""

from allauth.headless.internal import sessionkit
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase


class OneQuerySessionTokenStrategy(SessionTokenStrategy):
    """allauth's session tokens, looked up in one query instead of two.

    The stock strategy asks ``exists()`` and then loads the session; loading alone tells the
    same (a missing or expired session comes back without a key). Every authenticated API
    request — every ballot — pays for this lookup.
    """

    def lookup_session(self, session_token: str) -> SessionBase | None:
        session = sessionkit.session_store(session_token)
        session.get(SESSION_KEY)  # loads it
        return session if session.session_key else None
