"""The tables of the shared plumbing: ``core`` is a Django app only for these (no app imported)."""

from django.conf import settings
from django.db import models


class IdempotentAnswer(models.Model):
    """The first answer to a creating POST sent with an ``Idempotency-Key``, for replay.

    Keyed by the account and a hash of the key (the key is the client's and is not stored). The
    body is stored as answered: these answers (a comment, a proposal, a support, a device) hold
    nothing the citizen may not read back anyway. Ballots keep their own sealed records
    (``voting.models.IdempotencyRecord``): a ballot's answer holds its receipt and choice.
    ``status_code`` 0 marks a claim whose request is still running, inside its own transaction.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key_hash = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key_hash"], name="unique_idempotent_answer")
        ]

    def __str__(self) -> str:
        return f"idempotent answer {self.key_hash[:8]}"
