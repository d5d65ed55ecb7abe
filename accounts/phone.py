"""Stored phone numbers: the keyed hash profile history is kept against, and the masked form
officials see. Reading what citizens type is core/phone.py (``normalize_phone``)."""

import hashlib
import hmac

from django.conf import settings


def phone_key(phone: str) -> str:
    """Keyed hash of a number: what the profile history is kept against.

    Keyed with the server's voter-key secret (never stored in the database) and a purpose of its
    own, so it matches neither the ballot's voter key nor anything a database reader can compute
    from a list of phone numbers.
    """
    return hmac.new(
        settings.VOTER_KEY_SECRET.encode(), b"profile-history:" + phone.encode(), hashlib.sha256
    ).hexdigest()


def mask_phone(phone: str | None) -> str:
    """+821012345678 → +82 10-****-5678: enough to tell two citizens apart, not to call one."""
    if not phone:
        return "—"
    if phone.startswith("+82") and len(phone) >= 11:
        national = phone[3:]
        return f"+82 {national[:2]}-****-{national[-4:]}"
    return f"{phone[:4]}****{phone[-2:]}"
