"""Django's Redis cache backend with one connection pool and one client per server per process.

``django.core.cache.backends.redis`` has two costs this backend removes:

- It builds a ``redis.Redis`` around the connection pool for every get, set or incr, and redis-py's
  constructor copies its ~170 response callbacks into a case-insensitive dict each time: about 500
  Python calls per cache operation, more than the operation's own work. The API touches the cache
  on every request (rate-limit counters, the authentication cache).
- Django keeps one backend instance per thread, and each instance its own connection pool. Under
  ASGI every WebSocket connection runs its synchronous code on a thread of its own for as long as
  it is open (asgiref's thread-sensitive context), so every open dashboard kept a pool, its Redis
  connection and — with a client kept per instance — a client: measured, +14–20 KB per idle
  socket (``make bench`` scenario 7).

So pools and clients are kept per process, keyed by the server's URL and the pool's options, and
shared by every thread and backend instance. redis-py's pools and clients are made for that: each
command takes a connection from the pool and gives it back, and a pool used after a fork starts
afresh in the child (it checks its pid).
"""

import threading
from typing import Any

from django.core.cache.backends import redis as django_redis

_lock = threading.Lock()
_pools: dict[tuple[str, str], Any] = {}
_clients: dict[tuple[str, str], Any] = {}


class _SharedClient(django_redis.RedisCacheClient):
    def _identity(self, index: int) -> tuple[str, str]:
        this: Any = self  # Django's private attributes, not in the stubs
        options = sorted((name, repr(value)) for name, value in this._pool_options.items())
        return this._servers[index], repr((this._pool_class, options))

    def _get_connection_pool(self, write: bool) -> Any:
        this: Any = self
        return self._pool_at(this._get_connection_pool_index(write))

    def _pool_at(self, index: int) -> Any:
        this: Any = self
        identity = self._identity(index)
        pool = _pools.get(identity)
        if pool is None:
            with _lock:
                pool = _pools.get(identity)
                if pool is None:
                    pool = _pools[identity] = this._pool_class.from_url(
                        identity[0], **this._pool_options
                    )
        return pool

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        this: Any = self
        # One index for both: with replicas, reads pick one at random.
        index = this._get_connection_pool_index(write)
        identity = self._identity(index)
        client = _clients.get(identity)
        if client is None:
            pool = self._pool_at(index)
            with _lock:
                client = _clients.get(identity)
                if client is None:
                    client = _clients[identity] = this._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _SharedClient
