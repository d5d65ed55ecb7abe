"""The identity-verification hook: how a citizen becomes ``resident``-verified.

Binding decisions need more certainty than a phone: that the citizen really lives where they say.
Korea has several providers (mobile carrier PASS, joint certificates, the public-data residence
check); none is wired in here. A provider integration subclasses :class:`IdentityVerifier` and is
named in the ``IDENTITY_VERIFIER`` setting (dotted path). The app then calls
``POST /api/v1/me/identity/`` with whatever the provider's client SDK handed it (a transaction id,
a signed token); the verifier checks it with the provider, server to server, and answers with what
the provider confirmed. Officials can also set the level by hand in the admin.

Implementing a provider::

    class PassVerifier(IdentityVerifier):
        def verify(self, *, user, evidence):
            result = pass_client.lookup(evidence["transaction_id"])   # provider call
            if result.phone != user.phone:
                return IdentityResult(verified=False, reason="phone_mismatch")
            return IdentityResult(verified=True, district_code=result.admin_code,
                                  birth_year=result.birth.year, reference=result.id)

Never store the evidence itself; ``reference`` is kept only in the log of who verified whom.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import User


@dataclass(frozen=True)
class IdentityResult:
    verified: bool
    # 10-digit administrative code of the confirmed residence (a dong or a gu), if the provider
    # confirms residence; it then replaces the self-declared one.
    district_code: str | None = None
    birth_year: int | None = None
    # The provider's transaction id, for audits; never personal data.
    reference: str = ""
    # Why verification failed, as a short code ("expired", "phone_mismatch", ...).
    reason: str = ""


class IdentityVerifier(ABC):
    """Base class for a resident-verification provider."""

    @abstractmethod
    def verify(self, *, user: User, evidence: Mapping[str, Any]) -> IdentityResult:
        """Check ``evidence`` with the provider. Must not raise for a refusal: return
        ``IdentityResult(verified=False, reason=...)``. Raise only when the provider is
        unreachable (the API answers 503 then)."""


def get_verifier() -> IdentityVerifier | None:
    path = settings.IDENTITY_VERIFIER
    return import_string(path)() if path else None
