"""The keyed hash of a citizen's phone that participations keep (``Participation.voter_key``).

It outlives the account: a citizen who deletes the account and signs up again with the same
number has the same key, so the ballot box refuses a second vote and the list and the detail
say they have voted. Only the hash is stored; the key (``VOTER_KEY_SECRET``) is not the
``SECRET_KEY``, so rotating that one leaves every key alone.
"""

import hashlib
import hmac

from django.conf import settings


def voter_key(phone: str | None, user_id: int | None) -> str:
    """Keyed hash of the phone: what keeps a number to one vote per poll across accounts."""
    identity = phone or f"user:{user_id}"
    return hmac.new(
        settings.VOTER_KEY_SECRET.encode(), identity.encode(), hashlib.sha256
    ).hexdigest()
