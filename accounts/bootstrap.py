"""The first city official: an account that can sign in to the admin, second factor included.

``manage.py create_official`` (accounts/management/commands/create_official.py) is the way in on
a new deployment: only superusers create officials in the admin, so the first account cannot be
made there.

Why the second factor is enrolled here, and not left to the first login (which the admin's
login also supports: an official without an authenticator is sent to enrol one). Until that
first login the password alone would be the whole account: whoever presents it first — the
official, or anyone who read it on its way from the operator to them — enrols *their* app, and
the other is locked out or, worse, never notices. Enrolled here, through allauth.mfa's own
``TOTP.activate`` and ``RecoveryCodes.activate`` (the calls the login's enrolment makes), the
password is never enough, from the first second. The secret and the recovery codes are returned
once to be shown once; the database keeps them sealed (accounts/officials_mfa.py). An operator
who would rather the official enrol alone deletes the authenticator in the admin afterwards
(the reset of a lost phone): the next login enrols.
"""

from dataclasses import dataclass

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts import officials_mfa
from accounts.models import User
from accounts.roles import ensure_official_group


class AccountExists(Exception):
    """An account with this username or email exists already: nothing was changed."""


@dataclass(frozen=True)
class Enrolment:
    """What the official's authenticator app and their sheet of recovery codes need, once."""

    secret: str
    url: str
    recovery_codes: list[str]


def create_official(
    *,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    superuser: bool = False,
) -> tuple[User, Enrolment]:
    """A city-wide official (staff, in the officials' role, no jurisdiction) with a TOTP
    authenticator and recovery codes; ``superuser`` also makes them an operator (who creates
    the other officials in the admin).

    Raises AccountExists when the username or email is taken (case-insensitively), and
    ValidationError for a password Django's validators refuse or a malformed username or email.
    """
    username, email = username.strip(), email.strip()
    if User.objects.filter(Q(username__iexact=username) | Q(email__iexact=email)).exists():
        raise AccountExists(username)
    user = User(
        username=username,
        email=email,
        display_name=display_name.strip(),
        is_staff=True,
        is_superuser=superuser,
    )
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save()
            group = ensure_official_group()
            if group is None:
                raise ValidationError("run `manage.py migrate` first: the auth tables are missing")
            user.groups.add(group)
            enrolment = _enrol(user)
    except IntegrityError as exc:
        raise AccountExists(username) from exc  # created by a run racing this one
    return user, enrolment


def _enrol(user: User) -> Enrolment:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    recovery = RecoveryCodes.activate(user)
    codes = recovery.generate_codes()
    # Shown by the caller now; allauth shows them no more (MFA_RECOVERY_CODES_SHOW_ONCE).
    recovery.mark_as_viewed()
    return Enrolment(
        secret=secret, url=officials_mfa.totp_url(user=user, secret=secret), recovery_codes=codes
    )
