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

The factors are allauth.mfa's primitives (TOTP with replay protection, single-use recovery codes),
with their secrets encrypted at rest by :class:`MFAAdapter`. Citizens' sessions are never touched.
"""

from __future__ import annotations

import base64
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
from allauth.mfa import app_settings
from allauth.mfa import signals as mfa_signals
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.base.internal.flows import post_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    validate_totp_code,
)
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as django_login
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
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
    return bool(getattr(settings, "OFFICIAL_MFA_REQUIRED", True))


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


def _consume(request: HttpRequest, key: str) -> None:
    # allauth's "login_failed" limits (ACCOUNT_RATE_LIMITS): per address and per official.
    if not ratelimit.consume(request, action="login_failed", key=key):
        raise TooManyAttempts


def _clear(request: HttpRequest, key: str) -> None:
    ratelimit.clear(request, action="login_failed", key=key)


def password_attempt_key(username: str) -> str:
    return "officials-password:" + hashlib.sha256(username.strip().casefold().encode()).hexdigest()


def consume_password_attempt(*, request: HttpRequest, username: str) -> None:
    """Counts a password attempt at the admin login; raises TooManyAttempts past the limit."""
    _consume(request, password_attempt_key(username))


def clear_password_attempts(*, request: HttpRequest, username: str) -> None:
    _clear(request, password_attempt_key(username))


def _code_attempt_key(user: Any) -> str:
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


def has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


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


# --- Second factors ------------------------------------------------------------------------------


def _normalised(code: str) -> str:
    # Apps show "123 456"; recovery codes are read off paper.
    return "".join(code.split())[:64]


def verify_code(*, request: HttpRequest, user: Any, code: str) -> Authenticator | None:
    """A TOTP code (each once per time step) or an unused recovery code (then used up).

    Raises TooManyAttempts past the limit of tries for this official and address.
    """
    key = _code_attempt_key(user)
    _consume(request, key)
    code = _normalised(code)
    if not code:
        return None
    authenticators = Authenticator.objects.filter(
        user_id=user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ).order_by("type")  # recovery_codes, then totp: neither can be mistaken for the other
    for authenticator in authenticators:
        try:
            valid = authenticator.wrap().validate_code(code)
        except ImproperlyConfigured:
            # Sealed with another MFA_ENCRYPTION_KEY: no code can match it; re-enrol.
            logger.error("authenticator %s cannot be decrypted", authenticator.pk)
            continue
        if valid:
            _clear(request, key)
            return authenticator
    return None


def enrolment_secret(*, request: HttpRequest) -> str:
    """The secret offered to this pending login; the same one until it is confirmed."""
    secret = request.session.get(ENROLMENT_SECRET_KEY)
    if not isinstance(secret, str) or not secret:
        secret = request.session[ENROLMENT_SECRET_KEY] = generate_totp_secret()
    return secret


def totp_url(*, user: Any, secret: str) -> str:
    return get_mfa_adapter().build_totp_url(user, secret)


def totp_svg(*, url: str) -> str:
    return get_mfa_adapter().build_totp_svg(url)


def enrol(*, request: HttpRequest, user: Any, code: str) -> tuple[Authenticator, list[str]] | None:
    """Confirm the offered secret with a first code: the official's TOTP and recovery codes.

    Returns the TOTP authenticator and the recovery codes (to be shown this once), or None when
    the code is wrong or the official enrolled meanwhile (another tab). Rate-limited as codes.
    """
    key = _code_attempt_key(user)
    _consume(request, key)
    secret = request.session.get(ENROLMENT_SECRET_KEY)
    code = _normalised(code)
    if not isinstance(secret, str) or not code or not validate_totp_code(secret, code):
        return None
    try:
        with transaction.atomic():
            totp = TOTP.activate(user, secret)
            # Marks this code used: it cannot be replayed at a login in the same time step.
            if not totp.validate_code(code):
                transaction.set_rollback(True)
                return None
            recovery = RecoveryCodes.activate(user)
            codes = recovery.generate_codes()
            recovery.mark_as_viewed()
    except IntegrityError:
        # Enrolled a moment ago (the unique TOTP per official): that enrolment stands.
        return None
    _clear(request, key)
    for authenticator in (totp.instance, recovery.instance):
        mfa_signals.authenticator_added.send(
            sender=Authenticator, request=request, user=user, authenticator=authenticator
        )
    return totp.instance, codes


# --- Secrets at rest -----------------------------------------------------------------------------


def _fernet() -> Fernet:
    secret = getattr(settings, "MFA_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    if not secret:
        raise ImproperlyConfigured("MFA_ENCRYPTION_KEY (or SECRET_KEY) must be set")
    digest = hashlib.sha256(b"mvoting.mfa.v1:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class MFAAdapter(DefaultMFAAdapter):
    """allauth.mfa, with TOTP secrets and recovery-code seeds encrypted in the database.

    allauth stores them as given; whoever reads the authenticators table could then compute
    every official's codes. Here they are sealed with a key the database does not hold.
    """

    def encrypt(self, text: str) -> str:
        return _fernet().encrypt(text.encode()).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return _fernet().decrypt(encrypted_text.encode("ascii")).decode()
        except (InvalidToken, ValueError) as exc:
            # A changed MFA_ENCRYPTION_KEY: the official must be re-enrolled (docs/security.md).
            raise ImproperlyConfigured(
                "an authenticator's secret cannot be decrypted with MFA_ENCRYPTION_KEY"
            ) from exc


# --- The demo (`make run`) -----------------------------------------------------------------------


def enrol_demo(*, user: Any) -> None:
    """Give the demo official a TOTP authenticator and recovery codes, once (seed_demo)."""
    if not has_totp(user):
        TOTP.activate(user, generate_totp_secret())
        RecoveryCodes.activate(user)


def demo_secret(*, user: Any) -> str | None:
    """The demo official's TOTP secret, for demo_info to print (DEBUG only)."""
    authenticator = Authenticator.objects.filter(
        user_id=user.pk, type=Authenticator.Type.TOTP
    ).first()
    if authenticator is None:
        return None
    return get_mfa_adapter().decrypt(authenticator.data["secret"])


def current_code(*, secret: str) -> str:
    """The TOTP code of this time step (what an authenticator app shows now)."""
    step = int(time.time()) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, step))
