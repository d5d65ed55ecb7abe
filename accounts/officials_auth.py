"""Officials' sign-in: a second factor after the password, and sessions that end.

Officials (staff; superusers too) reach citizens' data and polls through the admin, the live
dashboards and the officials' API. A password alone must not open any of them:

- The admin's login form checks the password and then asks for a code from an authenticator app
  (TOTP) or a recovery code. Until the code passes, the session is *not logged in*: it only holds
  a pending login (``PENDING_KEY``). A stolen password therefore opens no admin page, no dashboard,
  no API and no allauth endpoint (where it could, say, remove the authenticator).
- An official without an authenticator enrols at that step (secret, QR code, a first code), and is
  shown the recovery codes once.
- The proof that a session passed the second factor is allauth's own record ("mfa" among the
  session's authentication records), written by this flow and by allauth's headless MFA stage
  alike; every place that grants officials' powers asks :func:`session_state`.
- Officials' sessions end after ``OFFICIAL_SESSION_IDLE_MINUTES`` without a request and
  ``OFFICIAL_SESSION_MAX_HOURS`` after the login (``SESSION_STATE_KEY``; accounts/middleware.py).

This module keeps the sessions, the rate limits and the pending login; the factors themselves
(enrolment, codes, their secrets encrypted at rest) are in accounts/officials_mfa.py. Citizens'
sessions are never touched.
"""

from __future__ import annotations

import hashlib
import logging
import time
from enum import StrEnum
from typing import Any

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from allauth.core import ratelimit
from allauth.mfa.base.internal.flows import post_authentication
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as django_login
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

logger = logging.getLogger(__name__)

# {"login_at": epoch seconds, "seen_at": epoch seconds}: only officials' sessions carry it.
SESSION_STATE_KEY = "officials.session"
# A password that passed, waiting for its second factor: {"user", "backend", "hash", "at"}.
PENDING_KEY = "officials.pending"
# The TOTP secret offered at enrolment, until a first code confirms it.
ENROLMENT_SECRET_KEY = "officials.enrolment_secret"  # noqa: S105 (a session key's name)
# Time to type a code, or to set up an authenticator app, after the password.
PENDING_SECONDS = 600
# The idle clock is written at most this often (a session save per request would be wasted).
TOUCH_EVERY_SECONDS = 15


class State(StrEnum):
    OK = "ok"
    EXPIRED = "expired"
    SECOND_FACTOR = "second_factor"


class TooManyAttempts(Exception):
    """Too many wrong passwords or codes for this official (or from this address) lately."""


def is_official(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_staff or user.is_superuser)
    )


def second_factor_required() -> bool:
    return bool(settings.OFFICIAL_MFA_REQUIRED)


# --- Sessions ------------------------------------------------------------------------------------


def _mfa_records(session: SessionBase, user: Any) -> list[dict]:
    """allauth's records of the second factors passed in this session, by this user."""
    if session.get(_AUTHENTICATION_METHODS_USER_SESSION_KEY) != str(user.pk):
        return []
    records = session.get(AUTHENTICATION_METHODS_SESSION_KEY)
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict) and r.get("method") == "mfa"]


def passed_second_factor(*, session: SessionBase, user: Any) -> bool:
    return bool(_mfa_records(session, user))


def is_expired(state: Any, *, now: float) -> bool:
    """Past the idle or the absolute limit. A malformed state is expired (fail closed)."""
    if not isinstance(state, dict):
        return True
    try:
        login_at, seen_at = float(state["login_at"]), float(state["seen_at"])
    except (KeyError, TypeError, ValueError):
        return True
    idle = settings.OFFICIAL_SESSION_IDLE_MINUTES * 60
    absolute = settings.OFFICIAL_SESSION_MAX_HOURS * 3600
    return now - seen_at > idle or now - login_at > absolute


def touched(state: dict, *, now: float) -> dict | None:
    """The state with the idle clock restarted, or None when it was restarted a moment ago."""
    if now - float(state["seen_at"]) < TOUCH_EVERY_SECONDS:
        return None
    return {**state, "seen_at": now}


def session_state(*, session: SessionBase, user: Any, now: float | None = None) -> State:
    """Whether ``user``'s ``session`` may use officials' powers now.

    Citizens are always OK (nothing here applies to them). An official's session is EXPIRED past
    its timeouts, and SECOND_FACTOR until it passed one. The first time a verified session is
    seen, its clocks start (at the second factor's time, when known).
    """
    if not is_official(user):
        return State.OK
    now = time.time() if now is None else now
    state = session.get(SESSION_STATE_KEY)
    if state is not None and is_expired(state, now=now):
        return State.EXPIRED
    records = _mfa_records(session, user)
    if second_factor_required() and not records:
        return State.SECOND_FACTOR
    if state is None:
        # A session verified elsewhere (allauth's headless MFA stage): its login was the code.
        login_at = min((float(r.get("at", now)) for r in records), default=now)
        state = {"login_at": login_at, "seen_at": now}
        if is_expired(state, now=now):
            return State.EXPIRED
        session[SESSION_STATE_KEY] = state
    elif (fresh := touched(state, now=now)) is not None:
        session[SESSION_STATE_KEY] = fresh
    return State.OK


def request_state(request: HttpRequest) -> State:
    return session_state(session=request.session, user=request.user)


# --- Rate limits ---------------------------------------------------------------------------------


def consume_attempt(request: HttpRequest, key: str) -> None:
    # allauth's "login_failed" limits (ACCOUNT_RATE_LIMITS): per address and per official.
    if not ratelimit.consume(request, action="login_failed", key=key):
        raise TooManyAttempts


def clear_attempts(request: HttpRequest, key: str) -> None:
    ratelimit.clear(request, action="login_failed", key=key)


def password_attempt_key(username: str) -> str:
    return "officials-password:" + hashlib.sha256(username.strip().casefold().encode()).hexdigest()


def consume_password_attempt(*, request: HttpRequest, username: str) -> None:
    """Counts a password attempt at the admin login; raises TooManyAttempts past the limit."""
    consume_attempt(request, password_attempt_key(username))


def clear_password_attempts(*, request: HttpRequest, username: str) -> None:
    clear_attempts(request, password_attempt_key(username))


def code_attempt_key(user: Any) -> str:
    # The key allauth's own MFA stage uses: the app and the admin share one budget per official.
    return f"mfa-auth-user-{user.pk}"


# --- The pending login ---------------------------------------------------------------------------


def begin_pending_login(*, request: HttpRequest, user: Any) -> None:
    """The password passed: remember who, for the second step only. Not a login."""
    # A new key: a session id planted before the password is worth nothing after it.
    request.session.cycle_key()
    request.session.pop(ENROLMENT_SECRET_KEY, None)
    request.session[PENDING_KEY] = {
        "user": str(user.pk),
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        # A password changed meanwhile voids the pending login, as it voids sessions.
        "hash": user.get_session_auth_hash(),
        "at": time.time(),
    }


def cancel_pending_login(*, request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(ENROLMENT_SECRET_KEY, None)


def pending_user(*, request: HttpRequest) -> Any | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        fresh = time.time() - float(pending["at"]) <= PENDING_SECONDS
        user = get_user_model().objects.filter(pk=int(pending["user"])).first()
    except (KeyError, TypeError, ValueError):
        return None
    if not fresh or user is None or not is_official(user):
        return None
    if not constant_time_compare(str(pending.get("hash", "")), user.get_session_auth_hash()):
        return None
    return user


def step_subject(*, request: HttpRequest) -> Any | None:
    """Whom the second-factor step is for: a pending login, or a logged-in official whose
    session has not passed a second factor (logged in some other way). None: nobody."""
    user = request.user
    if is_official(user) and request_state(request) == State.SECOND_FACTOR:
        return user
    # A pending login, also in a browser someone else is logged in to (the step replaces them).
    return pending_user(request=request)


def complete_login(*, request: HttpRequest, user: Any, authenticator: Authenticator) -> None:
    """The second factor passed: log in (if the password step was ours) and record it."""
    pending = request.session.pop(PENDING_KEY, None) or {}
    request.session.pop(ENROLMENT_SECRET_KEY, None)
    if request.user.is_authenticated and request.user.pk == user.pk:
        # More rights than a moment ago: a new session id.
        request.session.cycle_key()
    else:
        django_login(request, user, backend=pending.get("backend"))
    # allauth's record ("mfa", which authenticator, when), and its last-used time.
    post_authentication(request, authenticator)
    now = time.time()
    request.session[SESSION_STATE_KEY] = {"login_at": now, "seen_at": now}
