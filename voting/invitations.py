"""Invitation codes to private polls: made by officials, shown once, redeemed once.

A private poll (``Poll.private``) exists only for members of its managed groups and for citizens
who redeemed one of its codes (``eligibility.visible``). A code is eight symbols, ``XXXX-XXXX``,
of Crockford's base32 (no I, L, O, U: it survives being read aloud, printed and retyped; I and L
are read as 1 and O as 0, like the receipts'). Only a keyed hash of it is stored
(``PollInvitation.lookup``): a database reader cannot redeem a code, nor tell which printed code
is which row. The key is ``VOTER_KEY_SECRET`` (domain-separated), not ``SECRET_KEY``, so
rotating that one does not void the codes already handed out.

Forty bits are not the receipts' hundred: guessing is held back by the per-citizen limit on
redeeming (``InvitationThrottle``), under which a citizen would need millions of years to hit
one of a few thousand outstanding codes.
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.models import AuditEntry
from core.errors import ApiError, Conflict
from voting.models import Poll, PollInvitation
from voting.services.snapshots import record_poll

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_HALF = 4  # XXXX-XXXX
MAX_BATCH = 500  # codes per request: a hall's worth; more is a typo


class InvalidInvitation(ApiError):
    default_code = "invalid_invitation"
    default_detail = _("This invitation code is not valid. Check it and try again.")


class InvitationUsed(Conflict):
    default_code = "invitation_used"
    default_detail = _("This invitation code has already been used by someone else.")


class InvitationRevoked(Conflict):
    default_code = "invitation_revoked"
    default_detail = _("This invitation code has been withdrawn by the organisers.")


def new_code() -> str:
    symbols = "".join(secrets.choice(_ALPHABET) for _ in range(2 * _HALF))
    return f"{symbols[:_HALF]}-{symbols[_HALF:]}"


def normalise(code: str) -> str:
    cleaned = "".join(code.upper().split()).replace("-", "")
    return cleaned.translate(str.maketrans("ILO", "110"))


def looks_valid(code: str) -> bool:
    cleaned = normalise(code)
    return len(cleaned) == 2 * _HALF and all(symbol in _ALPHABET for symbol in cleaned)


def lookup(code: str) -> str:
    """The keyed hash a code is stored and found by."""
    message = b"mvoting-invitation:" + normalise(code).encode()
    return hmac.new(settings.VOTER_KEY_SECRET.encode(), message, hashlib.sha256).hexdigest()


class NotPrivate(ValueError):
    """Codes are for private polls only: a public poll needs none."""


@transaction.atomic
def create_invitations(*, poll: Poll, n: int, label: str, created_by: User) -> list[str]:
    """``n`` new codes to ``poll``, each single-use; returned once, never stored in clear.
    Audited on the poll (how many, and the label: never the codes)."""
    if not poll.private:
        raise NotPrivate(poll.pk)
    if not 1 <= n <= MAX_BATCH:
        raise ValueError(n)
    codes = [new_code() for _ in range(n)]
    PollInvitation.objects.bulk_create(
        PollInvitation(poll=poll, lookup=lookup(code), label=label, created_by=created_by)
        for code in codes
    )
    record_poll(
        actor=created_by,
        poll=poll,
        action=AuditEntry.Action.EDIT,
        changes={"invitations": ["", f"+{n} {label}".strip()]},
    )
    return codes


@transaction.atomic
def revoke(*, invitations: Iterable[PollInvitation], by: User) -> int:
    """Withdraw codes: an unused one can no longer be redeemed, and a redeemed one no longer
    opens its poll (a ballot already cast stays). How many were withdrawn now; audited per poll."""
    ids = [invitation.pk for invitation in invitations]
    pending = PollInvitation.objects.filter(pk__in=ids, revoked_at__isnull=True)
    per_poll: dict[int, int] = {}
    for poll_id in pending.values_list("poll_id", flat=True):
        per_poll[poll_id] = per_poll.get(poll_id, 0) + 1
    revoked = pending.update(revoked_at=timezone.now())
    for poll in Poll.objects.filter(pk__in=per_poll):
        record_poll(
            actor=by,
            poll=poll,
            action=AuditEntry.Action.EDIT,
            changes={"invitations": ["", f"-{per_poll[poll.pk]} revoked"]},
        )
    return revoked


def redeem(*, code: str, citizen: User) -> Poll:
    """Let ``citizen`` into the poll of ``code``. Redeeming one's own code again is harmless;
    a code another citizen redeemed, or a withdrawn one, is refused (409); anything else is
    ``invalid_invitation`` (400), whether malformed or unknown."""
    if not looks_valid(code):
        raise InvalidInvitation()
    key = lookup(code)
    # One statement decides who gets a code two citizens type at once.
    taken = PollInvitation.objects.filter(
        lookup=key, redeemed_by__isnull=True, revoked_at__isnull=True
    ).update(redeemed_by=citizen, redeemed_at=timezone.now())
    invitation = PollInvitation.objects.select_related("poll").filter(lookup=key).first()
    if invitation is None:
        raise InvalidInvitation()
    if not taken:
        if invitation.revoked_at is not None:
            raise InvitationRevoked()
        if invitation.redeemed_by_id != citizen.pk:
            raise InvitationUsed()
    return invitation.poll
