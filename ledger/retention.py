"""Journal retention: trim a symbol's event stream behind its slowest consumer.

Every consumer keeps its own position: live settlement, the ticker and the
archive a cursor key, the ledger of record its consumer group (acknowledged, or
the oldest entry still pending). So nothing leaves Redis before MongoDB's
``events`` holds it (ledger/archive.py). Entries every one of them has passed, and older than the
retention period (recent history stays for a matcher catching up and for
readers of recent events), are dropped. A consumer that never started holds
everything back.
"""
from __future__ import annotations

import time

import redis

from exchange import keys
from exchange.streams import entry_order
from ledger.consumer import GROUP

RETENTION_MS = 600_000  # JOURNAL_RETENTION_S's default


def trim_point(client: redis.Redis, symbol: str, retention_ms: int = RETENTION_MS,
               now_ms: int | None = None) -> bytes | None:
    """The stream id below which every entry may be dropped, or None to keep everything."""
    stream = keys.events(symbol)
    if not client.exists(stream):
        return None
    groups = [g for g in client.xinfo_groups(stream) if g["name"] in (GROUP, GROUP.encode())]
    cursors = [client.get(keys.settled_cursor(symbol)), client.get(keys.ticker_cursor(symbol)),
               client.get(keys.archived_cursor(symbol))]
    if not groups or None in cursors:
        return None
    pending = client.xpending(stream, GROUP)
    record = pending["min"] if pending["pending"] else groups[0]["last-delivered-id"]
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    horizon = f"{max(0, now_ms - retention_ms)}-0".encode()
    positions = [p if isinstance(p, bytes) else p.encode() for p in (*cursors, record)]
    return min(*positions, horizon, key=entry_order)


def trim(client: redis.Redis, symbol: str, retention_ms: int = RETENTION_MS, now_ms: int | None = None) -> int:
    """Drop what every consumer has passed and the retention period allows; returns entries dropped."""
    point = trim_point(client, symbol, retention_ms, now_ms)
    return 0 if point is None else client.xtrim(keys.events(symbol), minid=point, approximate=False)
