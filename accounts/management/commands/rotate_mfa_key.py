"""Re-encrypt officials' authenticators under the current ``MFA_ENCRYPTION_KEY``.

Rotating the key without this makes every enrolled authenticator unreadable: each official would
have to be reset and enrol again. Run it once, after every process has the new key, with the old
one in ``MFA_ENCRYPTION_KEY_PREVIOUS`` (the environment only: on the command line it would stay
in the shell's history and in process listings). docs/operations/secrets.md gives the procedure.

Idempotent: a value the current key already opens is left alone. All or nothing: one value that
neither key opens rolls everything back and names the authenticator (never a secret).
"""

import base64
import hashlib
import os
from typing import Any

from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.officials_mfa import MFAAdapter

PREVIOUS_VARIABLE = "MFA_ENCRYPTION_KEY_PREVIOUS"
# The values allauth stores encrypted: the TOTP secret, the recovery codes' seed, and recovery
# codes carried over from an older allauth (a list).
ENCRYPTED_FIELDS = ("secret", "seed")
ENCRYPTED_LISTS = ("migrated_codes",)


def _previous_fernet(secret: str) -> Fernet:
    # The derivation of accounts/officials_mfa.py; a mismatch would open nothing and change nothing.
    digest = hashlib.sha256(b"mvoting.mfa.v1:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class _Unreadable(Exception):
    pass


def _rekey(value: str, *, adapter: MFAAdapter, previous: Fernet) -> str | None:
    """The value encrypted under the current key, or None when it already is."""
    try:
        adapter.decrypt(value)
        return None
    except ImproperlyConfigured:
        pass
    try:
        plain = previous.decrypt(value.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise _Unreadable from exc
    rekeyed = adapter.encrypt(plain)
    if adapter.decrypt(rekeyed) != plain:  # pragma: no cover (Fernet round trip)
        raise _Unreadable
    return rekeyed


class Command(BaseCommand):
    help = (
        "Re-encrypt every official's authenticator (TOTP secret, recovery codes) under the "
        f"current MFA_ENCRYPTION_KEY; the old key is read from {PREVIOUS_VARIABLE}."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        previous_secret = os.environ.get(PREVIOUS_VARIABLE, "")
        if not previous_secret:
            raise CommandError(f"{PREVIOUS_VARIABLE} is not set (the key being replaced)")
        if previous_secret == settings.MFA_ENCRYPTION_KEY:
            raise CommandError(f"{PREVIOUS_VARIABLE} is the current MFA_ENCRYPTION_KEY")
        adapter, previous = MFAAdapter(), _previous_fernet(previous_secret)
        rekeyed = unchanged = 0
        with transaction.atomic():
            rows = Authenticator.objects.select_for_update().filter(
                type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
            )
            for authenticator in rows.order_by("pk"):
                data = dict(authenticator.data)
                changed = False
                try:
                    for name in ENCRYPTED_FIELDS:
                        if name in data:
                            new = _rekey(data[name], adapter=adapter, previous=previous)
                            if new is not None:
                                data[name], changed = new, True
                    for name in ENCRYPTED_LISTS:
                        if data.get(name) is not None:
                            items = []
                            for item in data[name]:
                                new = _rekey(item, adapter=adapter, previous=previous)
                                items.append(item if new is None else new)
                                changed = changed or new is not None
                            data[name] = items
                except _Unreadable:
                    raise CommandError(
                        f"authenticator {authenticator.pk} opens with neither key: nothing was "
                        f"changed (is {PREVIOUS_VARIABLE} the key it was enrolled under?)"
                    ) from None
                if changed:
                    authenticator.data = data
                    authenticator.save(update_fields=["data"])
                    rekeyed += 1
                else:
                    unchanged += 1
        self.stdout.write(f"authenticators re-encrypted: {rekeyed}; already current: {unchanged}")
