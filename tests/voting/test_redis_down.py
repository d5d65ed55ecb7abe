"""Redis is the live layer and the rate-limit store, never the source of truth: with it down,
ballots are still accepted and counted, and /healthz says what is down."""

import pytest
from channels.layers import channel_layers

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
    poll = PollFactory()
    option = poll.options.first()
    for _ in range(3):
        response = client_for(CitizenFactory()).post(
            f"/api/v1/polls/{poll.pk}/ballots/", {"options": [option.pk]}, format="json"
        )
        assert response.status_code == 201, response.content
    assert tallies.read(poll.pk).overall.ballots == 3
    assert tallies.read(poll.pk) == tallies.recount(poll.pk)

    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"database": "ok", "channel_layer": "down"}
