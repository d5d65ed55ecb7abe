from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import call_command
from django.utils import timezone

from voting import idempotency
from voting.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def test_sealed_answer_opens_only_with_the_clients_key():
    lookup = idempotency.lookup_for(user_id=7, key="client-key")
    sealed = idempotency.seal(key="client-key", lookup=lookup, body={"receipt": "ABCDE-12345"})
    assert b"ABCDE" not in sealed
    assert idempotency.unseal(key="client-key", lookup=lookup, sealed=sealed) == {
        "receipt": "ABCDE-12345"
    }
    with pytest.raises(InvalidTag):  # AES-GCM: the tag does not authenticate under another key
        idempotency.unseal(key="another-key", lookup=lookup, sealed=sealed)


def test_expired_records_are_neither_replayed_nor_kept(settings, capsys):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    for key, age in (("fresh", timedelta(hours=1)), ("stale", timedelta(hours=30))):
        lookup = idempotency.lookup_for(user_id=1, key=key)
        idempotency.store(
            key=key, lookup=lookup, request_fingerprint="f", status_code=201, body={"k": key}
        )
        IdempotencyRecord.objects.filter(lookup=lookup).update(created_at=timezone.now() - age)

    assert idempotency.find(lookup=idempotency.lookup_for(user_id=1, key="stale")) is None
    assert idempotency.find(lookup=idempotency.lookup_for(user_id=1, key="fresh")) is not None

    call_command("purge_idempotency_keys")

    assert "purged 1" in capsys.readouterr().out
    assert IdempotencyRecord.objects.count() == 1
