"""Worker heartbeats: each worker process writes one every second, with when each of its loops
last finished a pass; the API's deep health report (orderbook/health.py) reads them.

One hash per kind of worker (``keys.heartbeats``), one field per process, so any number of
replicas of a kind beat side by side; a field not renewed for FORGET_MS (a process long gone)
is dropped by the next beat of its kind.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

import orjson
import redis

from exchange import keys, redis_client

HEARTBEAT_S = 1.0
FORGET_MS = 3600 * 1000
# Every kind of worker process `make up` runs (exchange.worker.Worker.name).
KINDS = ("orderbook.worker", "ledger.worker", "ticker.worker", "bots.runner")


class Heartbeat:
    """The beat of one worker process: ``beat()`` is a loop's work (exchange.worker)."""

    def __init__(self, client: redis.Redis, kind: str, last_pass: dict[str, float]):
        self.client = client
        self.key = keys.heartbeats(kind)
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.last_pass = last_pass  # loop name -> time.time() of its last finished pass

    def beat(self) -> int:
        now = time.time()
        beat: dict[str, Any] = {"time_ms": int(now * 1000), "pid": os.getpid(),
                "loops": {name: round(now - at, 3) for name, at in self.last_pass.items()}}
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.key, self.instance, orjson.dumps(beat))
        pipe.hgetall(self.key)
        _, beats = pipe.execute()
        gone = [field for field, raw in beats.items() if orjson.loads(raw)["time_ms"] < beat["time_ms"] - FORGET_MS]
        if gone:
            self.client.hdel(self.key, *gone)
        return 1


def newest_beats(client: redis.Redis, kinds: tuple[str, ...] = KINDS) -> dict[str, dict | None]:
    """{kind: its newest heartbeat, with ``instances`` (how many beat within FORGET_MS), or None}."""
    pipe = client.pipeline(transaction=False)
    for kind in kinds:
        pipe.hgetall(keys.heartbeats(kind))
    newest: dict[str, dict | None] = {}
    for kind, beats in zip(kinds, pipe.execute()):
        decoded = [orjson.loads(raw) for raw in beats.values()]
        newest[kind] = max(decoded, key=lambda b: b["time_ms"]) | {"instances": len(decoded)} if decoded else None
    return newest


def beating_here(client: redis.Redis, kind: str, stale_s: int) -> bool:
    """Whether a process of ``kind`` on this host beat within ``stale_s`` (a container's check)."""
    host = socket.gethostname()
    now_ms = time.time() * 1000
    return any(field.decode().startswith(f"{host}:") and now_ms - orjson.loads(raw)["time_ms"] < stale_s * 1000
               for field, raw in client.hgetall(keys.heartbeats(kind)).items())


def main(argv: list[str]) -> int:
    """``python -m exchange.health KIND``: exit 0 if this host's KIND worker beats (compose healthchecks)."""
    from exchange.config import Settings

    if len(argv) != 1 or argv[0] not in KINDS:
        print(f"usage: python -m exchange.health {{{','.join(KINDS)}}}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    return 0 if beating_here(redis_client.connect(settings), argv[0], settings.health_stale_s) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
