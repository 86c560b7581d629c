"""Redis stream entry ids ('<ms>-<n>'), compared as what they are: time, then order within it; and
waiting for a stream to go past one."""
from __future__ import annotations

import time

import redis

from exchange import redis_client


def entry_order(entry_id: bytes | str) -> tuple[int, int]:
    """A stream entry id as a sortable (ms, n); '0-0' is before every entry."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, part = text.partition("-")
    return int(ms), int(part or 0)


def wait_past(client: redis.Redis, after: dict[str, bytes], timeout_s: float, idle_s: float) -> None:
    """Return once any stream (key -> entry id) has an entry after its id, or after ``timeout_s``: one
    blocking XREAD for all of them, where an idle loop would poll each again and again. With no
    stream to watch, on a Redis Cluster (one XREAD cannot name keys in several slots), or if Redis
    does not answer (the next pass says so), it sleeps ``idle_s`` instead."""
    if not after or redis_client.is_cluster(client):
        time.sleep(idle_s)
        return
    try:
        client.xread(dict(after), count=1, block=max(1, int(timeout_s * 1000)))
    except redis.RedisError:
        time.sleep(idle_s)
