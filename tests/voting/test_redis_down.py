"""Redis is the live layer and the rate-limit store, never the source of truth: with it down,
ballots are still accepted and counted, and /healthz says what is down."""

import pytest
from channels.layers import channel_layers
from django.conf import settings

from tests.ballot_box import assert_box_consistent, assert_receipts_kept, count_now
from tests.factories import CitizenFactory, PollFactory
from voting import tallies

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: a real, unreachable Redis


@pytest.fixture
def redis_down(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [DEAD_REDIS]},
        }
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_ballots_are_accepted_and_counted_while_redis_is_down(redis_down, client_for, client):
    """2k citizens vote through the API and the counter counts a batch, with Redis unreachable:
    every ballot is sealed, the batch is counted (its live message simply not sent), and the
    box adds up."""
    poll = PollFactory()
    option = poll.options.first()
    k = settings.BALLOT_BATCH_MIN
    receipts = []
    for _ in range(2 * k):
        response = client_for(CitizenFactory()).post(
            f"/api/v1/polls/{poll.pk}/ballots/", {"options": [option.pk]}, format="json"
        )
        assert response.status_code == 201, response.content
        receipts.append(response.json()["receipt"])

    assert count_now() == k
    assert tallies.read(poll.pk).overall.ballots == k
    assert tallies.read(poll.pk) == tallies.recount(poll.pk)
    assert_box_consistent([poll.pk])
    assert_receipts_kept(receipts, [poll.pk])

    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"database": "ok", "channel_layer": "down"}
