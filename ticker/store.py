"""Candles in Redis and MongoDB: the adapter around ``roll_candles.lua`` and the ``candles`` collection."""
from __future__ import annotations

import time

import orjson
import redis
from pymongo import UpdateOne
from pymongo.database import Database

from exchange import keys, mongo
from exchange.scripts import Scripts
from ticker.candles import Candle

CLOSE_GRACE_S = 2  # how long after a minute ends a trade of it may still arrive


class CandleStore:
    def __init__(self, client: redis.Redis, db: Database, scripts: Scripts | None = None):
        self.client = client
        self.db = db
        self.scripts = scripts or Scripts(client)

    def _keys(self, symbol: str) -> list[str]:
        return [keys.live_candle(symbol, "1s"), keys.live_candle(symbol, "1m"), keys.recent_seconds(symbol),
                keys.closed_minutes(symbol), keys.ticker_cursor(symbol), keys.last_closed_minute(symbol),
                keys.events(symbol)]

    # ---- writing ----------------------------------------------------------------------

    def roll(self, symbol: str, after: bytes, upto: bytes, trades: list[tuple[int, int, int]],
             now_s: int = 0) -> bool:
        """Fold (time ms, price, quantity) trades read after ``after`` up to ``upto``; False if stale."""
        args = [after, upto, now_s, CLOSE_GRACE_S, *[v for trade in trades for v in trade]]
        return self.scripts.roll_candles(keys=self._keys(symbol), args=args) == b"ok"

    def close_due(self, symbol: str, now_s: int | None = None) -> None:
        """Close candles whose interval ended (plus the grace) with no later trade to close them."""
        now_s = int(time.time()) if now_s is None else now_s
        self.scripts.roll_candles(keys=self._keys(symbol), args=["", "", now_s, CLOSE_GRACE_S])

    def persist_closed_minutes(self, symbol: str, limit: int = 500) -> int:
        """Upsert closed minutes into MongoDB, then drop them from Redis; returns how many.

        The document id is the minute, and a closed minute never changes, so a
        flusher that dies between the two steps makes its successor write the
        very same document again: never a duplicate, never a gap."""
        raw = self.client.zrange(keys.closed_minutes(symbol), 0, limit - 1)
        if not raw:
            return 0
        candles = [orjson.loads(r) for r in raw]
        self.db[mongo.CANDLES].bulk_write([
            UpdateOne({"_id": f"{symbol}:{c['start']}"}, {"$set": {"symbol": symbol, **c}}, upsert=True)
            for c in candles], ordered=False)
        self.client.zrem(keys.closed_minutes(symbol), *raw)
        return len(candles)

    # ---- reading ----------------------------------------------------------------------

    def recent_seconds(self, symbol: str) -> list[Candle]:
        """The latest 1-second candles (at most 600 closed, plus the live one), oldest first."""
        pipe = self.client.pipeline(transaction=True)
        pipe.lrange(keys.recent_seconds(symbol), 0, -1)
        pipe.hgetall(keys.live_candle(symbol, "1s"))
        closed, live = pipe.execute()
        candles = [_candle(orjson.loads(raw)) for raw in reversed(closed)]
        if live:
            candles.append(_candle({k.decode(): int(v) for k, v in live.items()}))
        return candles

    def live_minute(self, symbol: str) -> Candle | None:
        live = self.client.hgetall(keys.live_candle(symbol, "1m"))
        return _candle({k.decode(): int(v) for k, v in live.items()}) if live else None

    def minutes(self, symbol: str, start: int, end: int) -> list[Candle]:
        """Minute candles with start in [start, end): persisted, closed-not-yet-persisted, live."""
        by_start: dict[int, Candle] = {}
        for doc in self.db[mongo.CANDLES].find({"symbol": symbol, "start": {"$gte": start, "$lt": end}}):
            by_start[doc["start"]] = _candle(doc)
        pipe = self.client.pipeline(transaction=True)
        pipe.zrangebyscore(keys.closed_minutes(symbol), start, f"({end}")
        pipe.hgetall(keys.live_candle(symbol, "1m"))
        closed, live = pipe.execute()
        for raw in closed:
            candle = _candle(orjson.loads(raw))
            by_start[candle.start] = candle
        if live:
            candle = _candle({k.decode(): int(v) for k, v in live.items()})  # same moment as `closed`
            if start <= candle.start < end:
                by_start[candle.start] = candle
        return [by_start[s] for s in sorted(by_start)]


def _candle(doc: dict) -> Candle:
    return Candle(*(int(doc[f]) for f in ("start", "open", "high", "low", "close", "volume", "trades")))
