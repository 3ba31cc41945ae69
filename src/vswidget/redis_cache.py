"""Flask-Caching's Redis cache, for which Redis being away is a miss, not an error.

The cache only ever holds what the database can give again. When Redis is down or
slow, a read misses and is built from the database, a write is skipped, and readers
are served; /readyz says the cache is unreachable, and the log says so once a minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError

# A Redis that stops answering must not hold a request thread for long.
REDIS_TIMEOUTS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
WARN_EVERY = 60.0  # seconds

log = logging.getLogger(__name__)


class ForgivingRedisCache(RedisCache):
    """A Redis cache whose get, set and delete treat a Redis error as a miss."""

    _warned = float("-inf")

    @contextmanager
    def _unless_unreachable(self) -> Iterator[None]:
        try:
            yield
        except RedisError as error:
            now = time.monotonic()
            if now - ForgivingRedisCache._warned >= WARN_EVERY:
                ForgivingRedisCache._warned = now
                log.warning("The Redis cache is unreachable; serving from the database: %s", error)

    def get(self, key: str) -> Any:
        with self._unless_unreachable():
            return super().get(key)
        return None

    def set(self, key: str, value: Any, timeout: int | timedelta | None = None) -> Any:
        with self._unless_unreachable():
            return super().set(key, value, timeout)
        return False

    def delete(self, key: str) -> bool:
        with self._unless_unreachable():
            return bool(super().delete(key))
        return False
