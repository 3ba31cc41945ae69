"""The in-process cache, bounded in bytes: the least recently used entries go first.

Flask-Caching's SimpleCache bounds the number of entries only, whatever their size. This
one holds values pickled, as SimpleCache does, and counts each by its pickled size plus
ENTRY_OVERHEAD, so a worker's cache never passes ``max_bytes`` (CACHE_MAX_BYTES) however
large or many the entries readers make it build. Like the Redis cache, no entry lives
longer than LONGEST_TTL, whatever timeout it was given (0, "for ever", included).
"""

from __future__ import annotations

import pickle
import threading
import time
from datetime import timedelta
from typing import Any

from cachetools import TLRUCache
from flask import Flask
from flask_caching.backends.base import BaseCache

LONGEST_TTL = 24 * 3600  # seconds
ENTRY_OVERHEAD = 600  # bytes around a value: its key (at most about 300) and the records
Entry = tuple[bytes, float]  # the pickled value, when it expires (time.monotonic)


def capped_ttl(seconds: int) -> int:
    """Return a normalized timeout in seconds, 0 ("for ever") included, as LONGEST_TTL at most."""
    return seconds if 0 < seconds <= LONGEST_TTL else LONGEST_TTL


def _expires(key: str, entry: Entry, now: float) -> float:
    return entry[1]


def _size(entry: Entry) -> int:
    return len(entry[0]) + ENTRY_OVERHEAD


class BoundedMemoryCache(BaseCache):
    """An in-process cache of at most ``max_bytes``; thread-safe."""

    def __init__(self, max_bytes: int, default_timeout: int = 300) -> None:
        super().__init__(default_timeout=default_timeout)
        self._entries: TLRUCache[str, Entry] = TLRUCache(max_bytes, _expires, getsizeof=_size)
        self._lock = threading.RLock()

    @classmethod
    def factory(
        cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]
    ) -> BoundedMemoryCache:
        return cls(kwargs["max_bytes"], kwargs["default_timeout"])

    @property
    def used_bytes(self) -> int:
        """The bytes the entries are counted as."""
        with self._lock:
            return int(self._entries.currsize)

    def get(self, key: str) -> Any:
        with self._lock:
            found = self._entries.get(key)
        return None if found is None else pickle.loads(found[0])

    def set(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        seconds = capped_ttl(self._normalize_timeout(timeout))
        entry = (pickle.dumps(value, pickle.HIGHEST_PROTOCOL), time.monotonic() + seconds)
        with self._lock:
            try:
                self._entries[key] = entry
            except ValueError:  # larger than the whole cache: not kept
                self._entries.pop(key, None)
                return False
        return True

    def add(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        with self._lock:
            return key not in self._entries and self.set(key, value, timeout)

    def has(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._entries.pop(key, None) is not None

    def clear(self) -> bool:
        with self._lock:
            self._entries.clear()
        return True
