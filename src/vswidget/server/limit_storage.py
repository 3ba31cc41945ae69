"""Whether the rate limits' Redis can lose its counters: what `vswidget serve` warns of.

A Redis that evicts keys when full (any maxmemory-policy but noeviction) drops counters,
and every address starts its limits afresh. A Redis shared with the cache is filled by
payload traffic: with eviction it drops counters, without it refuses their writes, and
either way the limits stop holding. docs/deploy.md gives each its own Redis.

redis is imported only when the counters are in Redis: a server without it never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .redis_settings import REDIS_TIMEOUTS

if TYPE_CHECKING:
    import redis

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
SHARED = (
    "The rate limits and the cache use the same Redis server ({server}): payload traffic "
    "that fills it wipes the vote limits; give the rate limits a Redis of their own with "
    "maxmemory-policy noeviction (docs/deploy.md)."
)
EVICTING = (
    "The rate limits' Redis evicts keys when full (maxmemory-policy {policy}), so a full "
    "Redis wipes the vote limits; set maxmemory-policy noeviction on it (docs/deploy.md)."
)


def limit_storage_warnings(cache_url: str, limits_url: str) -> list[str]:
    """Return a sentence for each setting that lets the rate-limit counters be lost.

    Only what can be told: a Redis that cannot be reached, or refuses CONFIG (as managed
    ones may), is judged by its address alone.
    """
    if not limits_url.startswith(REDIS_SCHEMES):
        return []
    from redis.exceptions import RedisError

    limits = _client(limits_url)
    warnings = []
    if cache_url.startswith(REDIS_SCHEMES) and _same_server(_client(cache_url), limits):
        warnings.append(SHARED.format(server=_address(limits)))
    try:
        policy = limits.config_get("maxmemory-policy").get("maxmemory-policy", "noeviction")
    except RedisError:
        policy = "noeviction"
    if policy != "noeviction":
        warnings.append(EVICTING.format(policy=policy))
    return warnings


def _client(url: str) -> redis.Redis:
    import redis

    return redis.Redis.from_url(url, **REDIS_TIMEOUTS)


def _address(client: redis.Redis) -> str:
    """Return where a client connects: a host and port, or a socket's path."""
    options = client.connection_pool.connection_kwargs
    return str(options.get("path") or f"{options.get('host')}:{options.get('port')}")


def _same_server(one: redis.Redis, other: redis.Redis) -> bool:
    """Say whether two clients reach one server: by its run id when both answer (so
    ``localhost`` and ``127.0.0.1`` are told the same), else by address."""
    from redis.exceptions import RedisError

    if _address(one) == _address(other):
        return True
    try:
        return bool(one.info("server")["run_id"] == other.info("server")["run_id"])
    except RedisError:
        return False
