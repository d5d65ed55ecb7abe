"""core/cache.py: Django's Redis cache with one redis-py client per pool, on the real Redis."""

import os
import threading
import uuid

import pytest
import redis
from django.core.cache import caches

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"test-core-cache-{uuid.uuid4().hex}",
        }
    }
    cache = caches["default"]
    yield cache
    # Not clear(): on Redis that is FLUSHDB, every other user's keys too (tests/conftest.py).
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*"):
        client.delete(key)


def test_behaves_as_djangos(redis_cache):
    assert redis_cache.get("k") is None
    redis_cache.set("k", {"v": [1, "둘"]}, 30)
    assert redis_cache.get("k") == {"v": [1, "둘"]}
    assert redis_cache.add("n", 1, 30) is True
    assert redis_cache.add("n", 5, 30) is False
    assert redis_cache.incr("n") == 2
    redis_cache.delete("k")
    assert redis_cache.get("k") is None
    assert redis_cache.get_many(["n", "missing"]) == {"n": 2}


def test_one_client_per_pool(redis_cache, monkeypatch):
    made = []
    original = redis.Redis.__init__

    def counting_init(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting_init)
    for i in range(20):
        redis_cache.set(f"key-{i}", i, 30)
        assert redis_cache.get(f"key-{i}") == i
    assert len(made) <= 1  # the one client, made at the first operation (or before the test)
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client(write=True) is client
    assert isinstance(client, redis.Redis)


def test_threads_share_one_pool_and_one_client_not_the_backend(redis_cache):
    redis_cache.set("shared", "from main", 30)
    seen = []

    def other_thread():
        cache = caches["default"]  # Django gives each thread its own backend
        seen.append((cache is redis_cache, cache.get("shared"), cache._cache.get_client()))
        cache.set("shared", "from thread", 30)

    for _ in range(3):  # one after the other: each sees the one before
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()

    assert [(own, value) for own, value, _client in seen] == [
        (False, "from main"),
        (False, "from thread"),
        (False, "from thread"),
    ]
    # One client, so one pool and one set of connections, for the process whatever the thread:
    # a WebSocket connection's own thread keeps no pool of its own while it is open.
    main_client = redis_cache._cache.get_client()
    assert all(client is main_client for _own, _value, client in seen)


def test_redis_down_raises_as_djangos_backend(settings):
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    cache = caches["default"]
    for _ in range(2):  # the kept client fails each time, as Django's did, and raises nothing odd
        with pytest.raises(redis.exceptions.ConnectionError):
            cache.get("x")
