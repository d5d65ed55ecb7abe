"""Housekeeping of accounts' tables: expired sessions, and the session list's rows they leave.

What allauth keeps of a sign-in in progress — the SMS code of a login or a sign-up, the phone
verification, the pending login of the headless API, the officials' pending second factor — lives
in the session's data (``django_session``), not in tables of its own: allauth.account's
``EmailConfirmation`` table is unused here (no email verification; HMAC confirmations), and
allauth.mfa's authenticators never expire. Clearing expired sessions therefore clears expired
flows too; nothing else of allauth needs a job.

The two jobs, run by ``accounts.tasks.clear_expired_sessions`` from the beat schedule:

- **Expired sessions** (``expire_date`` passed), Django's ``clearsessions`` in bounded batches.
  Nothing comes back from the cache (accounts/auth_cache.py): an entry never outlives the
  ``expire_date`` its row had when it was read, and the store never reads a row past it.
- **The citizen's list of sessions** (allauth.usersessions: device, address, last seen) whose
  session is gone: allauth drops them only when that citizen next lists their sessions, so a
  citizen who never does would keep an address and a user agent per login for ever.
"""

from datetime import datetime

from allauth.usersessions.models import UserSession
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.sessions import SessionStore
from core.batches import delete_in_batches

# At most this many rows per DELETE, and this many batches per run (the next run goes on).
BATCH_SIZE = 5000
MAX_BATCHES = 200


def clear_expired_sessions(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = MAX_BATCHES,
) -> int:
    """Delete sessions whose ``expire_date`` has passed; how many."""
    now = timezone.now() if now is None else now
    Session = SessionStore.get_model_class()
    return delete_in_batches(
        Session.objects.filter(expire_date__lt=now), batch_size=batch_size, max_batches=max_batches
    )


def purge_orphaned_user_sessions(
    *, batch_size: int = BATCH_SIZE, max_batches: int | None = MAX_BATCHES
) -> int:
    """Delete the session list's rows whose session row no longer exists; how many.

    Both tables hold the session key's digest (accounts/sessions.py), so the match is exact.
    """
    Session = SessionStore.get_model_class()
    session_exists = Exists(Session.objects.filter(session_key=OuterRef("session_key")))
    return delete_in_batches(
        UserSession.objects.filter(~session_exists),
        batch_size=batch_size,
        max_batches=max_batches,
    )
