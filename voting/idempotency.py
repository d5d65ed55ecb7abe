"""Replaying a ballot's answer to a phone that retries, without storing what links it to anyone.

The stored record is found by a hash of (citizen, key) and its body is sealed with AES-GCM under a
key derived from the client's ``Idempotency-Key``, which is never stored. Whoever reads the table
sees opaque bytes: they cannot tell whose receipt or which choice a record holds.
"""

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone

from core import idempotency as answers
from core.batches import delete_in_batches
from voting.models import IdempotencyRecord
from voting.sealing import pad


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict


# Each DELETE of expired records is this long at most; a run stops after this many batches (the
# next run goes on): a ballot's own INSERT never waits long behind the purge.
PURGE_BATCH = 5000
PURGE_MAX_BATCHES = 200


def lookup_for(*, user_id: int, key: str) -> str:
    # Keyed with a server secret: reading the table alone cannot test guesses of (user, key).
    message = f"{user_id}:{key}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _keyed(key: str) -> bytes:
    # The client's key with a server secret: an app's keys may be guessable (a counter, a
    # timestamp), and a reader who guessed one could otherwise test each possible choice against
    # the fingerprint and open the stored answer — in a record written by the voter's own
    # transaction. Both need the secret as well now.
    return hmac.new(
        settings.SECRET_KEY.encode(), b"idempotency:" + key.encode(), hashlib.sha256
    ).digest()


def fingerprint(*, key: str, request: dict) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hmac.new(_keyed(key), canonical.encode(), hashlib.sha256).hexdigest()


def _cipher(key: str, lookup: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=lookup.encode(), info=b"mvoting-idempotency"
    ).derive(_keyed(key))
    return AESGCM(derived)


# Every stored answer has the same length, whatever it holds: it is written in the voter's own
# transaction, so a length that moved with the choice would tell a database reader the choice.
_PADDED_LENGTH = 2560  # room for the longest answer a ballot request can have (100 options)


def seal(*, key: str, lookup: str, body: dict) -> bytes:
    nonce = os.urandom(12)
    plain = pad(body, block=_PADDED_LENGTH)
    return nonce + _cipher(key, lookup).encrypt(nonce, plain, None)


def unseal(*, key: str, lookup: str, sealed: bytes) -> dict:
    sealed = bytes(sealed)
    return json.loads(_cipher(key, lookup).decrypt(sealed[:12], sealed[12:], None))


def find(*, lookup: str) -> IdempotencyRecord | None:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    return IdempotencyRecord.objects.filter(lookup=lookup, created_at__gte=cutoff).first()


def store(*, key: str, lookup: str, request_fingerprint: str, status_code: int, body: dict) -> None:
    IdempotencyRecord.objects.create(
        lookup=lookup,
        fingerprint=request_fingerprint,
        status_code=status_code,
        sealed_body=seal(key=key, lookup=lookup, body=body),
    )


def purge_expired(
    *,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH,
    max_batches: int | None = PURGE_MAX_BATCHES,
) -> int:
    """Delete the records no longer replayed (older than the TTL); how many.

    Ballots' sealed records, and the other creating POSTs' answers (core/idempotency.py): one
    job for both, behind ``manage.py purge_idempotency_keys`` and the beat schedule's
    ``voting.tasks.purge_idempotency_keys``. A record inside the TTL is never touched, so running
    it twice, or while ballots arrive, changes nothing a phone can see.
    """
    now = timezone.now() if now is None else now
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    ballots = delete_in_batches(
        IdempotencyRecord.objects.filter(created_at__lt=cutoff),
        batch_size=batch_size,
        max_batches=max_batches,
    )
    return ballots + answers.purge_expired(now=now, batch_size=batch_size, max_batches=max_batches)
