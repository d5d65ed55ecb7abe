import os
import uuid

import pytest

from voting import throttling

pytestmark = pytest.mark.django_db


@pytest.mark.redis
def test_both_limits_are_counted_in_one_round_trip_on_redis(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex}",
        }
    }
    import redis

    calls = []
    original = redis.Redis.pipeline

    def counting_pipeline(self, *args, **kwargs):
        calls.append(1)  # counts, then talks to the real Redis
        return original(self, *args, **kwargs)

    redis.Redis.pipeline = counting_pipeline
    try:
        assert throttling.hit([("a-one-trip", 60), ("b-one-trip", 60)]) == [1, 1]
        assert throttling.hit([("a-one-trip", 60), ("b-one-trip", 60)]) == [2, 2]
    finally:
        redis.Redis.pipeline = original
    assert len(calls) == 2  # one pipeline (one round trip) per ballot, for both limits


def test_counts_without_redis():
    assert throttling.hit([("x-local", 60), ("y-local", 60)]) == [1, 1]
    assert throttling.hit([("x-local", 60)]) == [2]
