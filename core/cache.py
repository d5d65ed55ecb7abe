"""Django's Redis cache backend, without a new Redis client object per operation.

``django.core.cache.backends.redis`` builds a ``redis.Redis`` around the (shared, kept) connection
pool for every get, set or incr, and redis-py's constructor copies its ~170 response callbacks into
a case-insensitive dict each time: about 500 Python calls per cache operation, more than the
operation's own work. The API touches the cache on every request (rate-limit counters, the
authentication cache), so here each pool gets one client, made once and reused. redis-py clients
are safe to share between threads (every command takes a connection from the pool), and Django
already keeps one backend instance per thread.
"""

from typing import Any

from django.core.cache.backends import redis as django_redis


class _ClientPerPool(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own (private, unstubbed) pool choice: the same pool Django would have used.
        django_client: Any = self
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = django_client._get_connection_pool(write)
            client = self._clients[index] = django_client._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientPerPool
