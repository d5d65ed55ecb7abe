"""``Idempotency-Key`` for creating POSTs: a retried request replays its first answer.

One mechanism, below every app that uses it (comments, proposals, supports, devices); ballots
keep their own sealed records (voting/idempotency.py) and share only the header's rules, the
error codes and the TTL. The claim is the record itself, inserted in the request's transaction
before the work: a concurrent twin waits on its unique index, and once the first commits it
replays that answer; if the first fails, its claim rolls back with it and the twin does the work.
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.batches import delete_in_batches
from core.errors import ApiError
from core.models import IdempotentAnswer
from core.schema import ErrorSerializer

MIN_KEY_LENGTH = 16
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


class InvalidIdempotencyKey(ApiError):
    default_code = "invalid_idempotency_key"
    default_detail = _(
        "The Idempotency-Key header must be 16 to 255 printable characters (a UUID is fine)."
    )


class IdempotencyMismatch(ApiError):
    # The ballot's code and status (voting/casting.py), so an app handles both the same way.
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_mismatch"
    default_detail = _("This Idempotency-Key was used with a different request.")


# For extend_schema(parameters=SCHEMA_PARAMETERS) on each creating POST.
SCHEMA_PARAMETERS = [
    OpenApiParameter(
        HEADER,
        {"type": "string", "minLength": MIN_KEY_LENGTH, "maxLength": MAX_KEY_LENGTH},
        OpenApiParameter.HEADER,
        description=(
            "Retry safely: 16 to 255 printable characters (a UUID is fine), unique per request. "
            "The same key and body replay the first answer; another body with the same key is "
            "refused with idempotency_mismatch (422); a malformed key with "
            "invalid_idempotency_key (400)."
        ),
    ),
    OpenApiParameter(
        REPLAYED_HEADER,
        {"type": "string", "enum": ["true"]},
        OpenApiParameter.HEADER,
        response=[201],
        description="Present (true) when the answer is the replay of an earlier request's.",
    ),
]


MISMATCH_RESPONSE = {
    422: OpenApiResponse(ErrorSerializer, description="idempotency_mismatch"),
}


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: Any
    replayed: bool = False

    def response(self) -> Response:
        response = Response(self.body, status=self.status_code)
        if self.replayed:
            response[REPLAYED_HEADER] = "true"
        return response


def key_from(request: Request) -> str | None:
    """The request's key, None without one; a malformed one is a 400."""
    key = request.headers.get(HEADER)
    if key is not None and not (MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH and key.isprintable()):
        raise InvalidIdempotencyKey()
    return key


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        # A parsed body may hold values JSON has no type for (a model instance): their text
        # tells one request from another as well.
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def fingerprint(*, operation: str, payload: Any) -> str:
    canonical = json.dumps(
        [operation, payload], sort_keys=True, separators=(",", ":"), cls=_Encoder
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def file_digest(upload: "UploadedFile[bytes]") -> str:
    """An uploaded file's content as a fingerprint's part (its name may change on a retry)."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _replay(*, user_id: int, key_hash: str, request_fingerprint: str) -> Answer | None:
    record = (
        IdempotentAnswer.objects.filter(
            user_id=user_id, key_hash=key_hash, created_at__gte=_cutoff(), status_code__gt=0
        )
        .only("fingerprint", "status_code", "body")
        .first()
    )
    if record is None:
        return None
    if not hmac.compare_digest(record.fingerprint, request_fingerprint):
        raise IdempotencyMismatch()
    return Answer(status_code=record.status_code, body=record.body, replayed=True)


def run(
    *,
    user_id: int,
    key: str | None,
    operation: str,
    payload: Any,
    create: Callable[[], Answer],
) -> Answer:
    """``create()``'s answer, at most once per (user, key) within the TTL.

    ``operation`` names the endpoint and its path arguments and ``payload`` is the parsed body:
    together the request's fingerprint. Without a key, ``create()`` runs as it would anyway. A
    refusal (an exception) is not stored: a retry is judged afresh, as for ballots.
    """
    if key is None:
        return create()
    key_hash = _hash(key)
    request_fingerprint = fingerprint(operation=operation, payload=payload)
    replay = _replay(user_id=user_id, key_hash=key_hash, request_fingerprint=request_fingerprint)
    if replay:
        return replay
    try:
        with transaction.atomic():
            # An expired record not purged yet would hold the unique index against this key.
            IdempotentAnswer.objects.filter(
                user_id=user_id, key_hash=key_hash, created_at__lt=_cutoff()
            ).delete()
            claim = IdempotentAnswer.objects.create(
                user_id=user_id,
                key_hash=key_hash,
                fingerprint=request_fingerprint,
                created_at=timezone.now(),
            )
            answer = create()
            claim.status_code = answer.status_code
            claim.body = json.loads(json.dumps(answer.body, cls=DjangoJSONEncoder))
            claim.save(update_fields=["status_code", "body"])
            # The first answer as stored, so that its replays are the same to the byte.
            answer = Answer(status_code=answer.status_code, body=claim.body)
    except IntegrityError:
        # A twin with this key committed first (the unique index made us wait for it).
        replay = _replay(
            user_id=user_id, key_hash=key_hash, request_fingerprint=request_fingerprint
        )
        if replay:
            return replay
        raise
    return answer


def purge_expired(*, now: datetime | None = None, batch_size: int, max_batches: int | None) -> int:
    """Delete the answers ``run`` no longer replays; how many (voting's housekeeping job)."""
    return delete_in_batches(
        IdempotentAnswer.objects.filter(created_at__lt=_cutoff(now)),
        batch_size=batch_size,
        max_batches=max_batches,
    )
