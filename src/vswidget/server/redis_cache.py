"""Flask-Caching's Redis cache, for which Redis being away is a miss, not an error.

The cache only ever holds what the database can give again. When Redis is down or
slow, a read misses and is built from the database, a write is skipped, and readers
are served; /readyz says the cache is unreachable, and the log says so once a minute.
Every key expires, within LONGEST_TTL at most, so the cache's Redis may evict any key
(docs/deploy.md: its own Redis, with maxmemory and allkeys-lru).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from cachelib.base import BaseCache
from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError

from .memory_cache import capped_ttl
from .redis_settings import WARN_EVERY

log = logging.getLogger(__name__)


class ForgivingRedisCache(RedisCache):
    """A Redis cache whose reads and writes treat a Redis error as a miss, and whose keys
    all expire."""

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

    def get_many(self, *keys: str) -> list[Any]:
        with self._unless_unreachable():
            return list(super().get_many(*keys))
        return [None] * len(keys)

    def set(self, key: str, value: Any, timeout: int | timedelta | None = None) -> Any:
        with self._unless_unreachable():
            return super().set(key, value, timeout)
        return False

    def add(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        """Set ``key`` unless it exists, with its expiry in the same command."""
        with self._unless_unreachable():
            return bool(
                self._write_client.set(
                    name=f"{self._get_prefix()}{key}",
                    value=self.serializer.dumps(value),
                    ex=self._normalize_timeout(timeout),
                    nx=True,
                )
            )
        return False

    def _normalize_timeout(self, timeout: int | timedelta | None) -> int:
        return capped_ttl(BaseCache._normalize_timeout(self, timeout))

    def delete(self, key: str) -> bool:
        with self._unless_unreachable():
            return bool(super().delete(key))
        return False
