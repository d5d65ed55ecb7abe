"""The one check that a citizen is verified enough to take part: propose, support, comment, like.

The rule: an active account whose phone is verified, at ``level`` or above. One verified phone is
one citizen, so everything counted once per person (supports, likes, reports) is counted per
phone; throw-away accounts count for nothing. ``level`` is never below phone-verified: a poll
that asks for resident verification raises it, none lowers it.

The check is made in services, not views, so every caller (the API, the admin, the demo data,
a task) meets it.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Verification
from core.errors import Forbidden


class VerificationRequired(Forbidden):
    default_code = "verification_required"
    default_detail = _("Verify your phone number to take part.")


def is_verified(user: User, *, level: int = Verification.PHONE) -> bool:
    return bool(
        user.is_active
        and user.phone_verified
        and user.verification >= max(level, Verification.PHONE)
    )


def require_verified(
    user: User, *, level: int = Verification.PHONE, detail: str | Promise | None = None
) -> None:
    """``VerificationRequired`` (403, ``verification_required``) unless ``is_verified``.

    ``detail`` tells the citizen what the verification is for ("... to take part in
    discussions"); the code stays the same for clients to switch on.
    """
    if not is_verified(user, level=level):
        raise VerificationRequired(detail)
