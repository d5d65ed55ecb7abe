"""Officials' second factors: enrolment, codes, and their secrets sealed at rest.

The factors are allauth.mfa's primitives (TOTP with replay protection, single-use recovery codes),
with their secrets encrypted at rest by :class:`MFAAdapter` (``MFA_ADAPTER``). The login flow
around them (the pending login, sessions, rate limits) is accounts/officials_auth.py.
"""

import base64
import hashlib
import logging
import time
from typing import Any

from allauth.mfa import app_settings
from allauth.mfa import signals as mfa_signals
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
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
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts import officials_auth

logger = logging.getLogger(__name__)


def has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


# --- Codes ---------------------------------------------------------------------------------------


def _normalised(code: str) -> str:
    # Apps show "123 456"; recovery codes are read off paper.
    return "".join(code.split())[:64]


def verify_code(*, request: HttpRequest, user: Any, code: str) -> Authenticator | None:
    """A TOTP code (each once per time step) or an unused recovery code (then used up).

    Raises TooManyAttempts past the limit of tries for this official and address.
    """
    key = officials_auth.code_attempt_key(user)
    officials_auth.consume_attempt(request, key)
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
            officials_auth.clear_attempts(request, key)
            return authenticator
    return None


def enrolment_secret(*, request: HttpRequest) -> str:
    """The secret offered to this pending login; the same one until it is confirmed."""
    secret = request.session.get(officials_auth.ENROLMENT_SECRET_KEY)
    if not isinstance(secret, str) or not secret:
        secret = request.session[officials_auth.ENROLMENT_SECRET_KEY] = generate_totp_secret()
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
    key = officials_auth.code_attempt_key(user)
    officials_auth.consume_attempt(request, key)
    secret = request.session.get(officials_auth.ENROLMENT_SECRET_KEY)
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
    officials_auth.clear_attempts(request, key)
    for authenticator in (totp.instance, recovery.instance):
        mfa_signals.authenticator_added.send(
            sender=Authenticator, request=request, user=user, authenticator=authenticator
        )
    return totp.instance, codes


# --- Secrets at rest -----------------------------------------------------------------------------


def _fernet() -> Fernet:
    secret = settings.MFA_ENCRYPTION_KEY or settings.SECRET_KEY
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
