"""The one way every process connects to Redis: one server, or a Redis Cluster.

With ``REDIS_CLUSTER=1``, ``REDIS_URL`` names a seed node and every process talks to the
cluster through redis-py's ``RedisCluster``, which follows the slot map and its changes.
Nothing in the exchange needs more than one slot at a time: each Lua script, transaction
and blocking read touches one symbol's keys (``{SYM}``), one user's (``{u:ID}``) or a
single key (exchange/keys.py), and tools that scan keys visit every primary.
"""
from __future__ import annotations

from typing import Any

import redis
from limits.storage import RedisClusterStorage, RedisStorage, Storage
from redis.cluster import RedisCluster

from exchange.config import Settings

# What a Redis server restarting, loading its file or failing over answers, which the same
# request may get past a moment later: a connection refused or dropped (BusyLoadingError is
# one), a timeout, a cluster node's CLUSTERDOWN or TRYAGAIN while it rejoins or a slot
# moves, and a slot no node serves for a moment. The API answers them with 503 and
# Retry-After; the workers retry them. (A refused password is a ConnectionError too: it is
# retried like an outage, and logged each try.)
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError, redis.exceptions.SlotNotCoveredError)


def connect(settings: Settings, **options: Any) -> redis.Redis:
    """A client of the settings' Redis: ``options`` as redis-py takes them (a pool's size, say).
    A ``RedisCluster`` answers the same commands, so callers take either as a ``redis.Redis``."""
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, **options)


def limiter_storage_uri(settings: Settings) -> str:
    """Flask-Limiter's storage (the ``limits`` package): its cluster scheme for a cluster."""
    if settings.redis_cluster:
        return "redis+cluster://" + settings.redis_url.split("://", 1)[1].split("/", 1)[0]
    return settings.redis_url


def _seed(client: RedisCluster) -> str:
    node = client.get_default_node()
    return f"{node.host}:{node.port}"


def limits_storage(client: redis.Redis, key_prefix: str) -> Storage:
    """A ``limits`` storage on ``client``'s Redis: its connections, or its cluster's."""
    if isinstance(client, RedisCluster):
        return RedisClusterStorage(f"redis+cluster://{_seed(client)}", key_prefix=key_prefix)
    return RedisStorage("redis://", connection_pool=client.connection_pool, key_prefix=key_prefix)


def dogpile_backend(client: redis.Redis) -> tuple[str, dict[str, Any]]:
    """dogpile.cache's Redis backend and its connection arguments, on ``client``'s Redis."""
    if isinstance(client, RedisCluster):
        return "dogpile.cache.redis_cluster", {"url": f"redis://{_seed(client)}"}
    return "dogpile.cache.redis", {"connection_pool": client.connection_pool}


def is_cluster(client: redis.Redis) -> bool:
    """redis-py's cluster pipelines refuse EVALSHA: where a pipeline would carry a script, a cluster
    client sends it on its own (routed by its first key)."""
    return isinstance(client, RedisCluster)
