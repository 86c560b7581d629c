"""Candle worker: ``python -m ticker.worker``.

One loop (``exchange.worker``), each pass for each symbol: fold new journal
trades into the live candles (exactly once: the batch commits only if the
ticker cursor has not moved, so any number of replicas may run); close candles
whose interval has ended; and, if this replica holds the symbol's flusher lease
(a pottery Redlock), persist closed minutes to MongoDB. Stops cleanly on SIGTERM
or Ctrl-C.
"""
from __future__ import annotations

import time

import redis

from exchange import journal, keys, mongo, redis_client
from exchange.config import Settings
from exchange.lease import Lease
from exchange.metrics import APPLIED_SEQUENCE
from exchange.scripts import Scripts
from exchange.worker import Loop, SymbolPasses, Worker, run
from ticker.feed import LiveFeed
from ticker.quotes import candle_view, quote
from ticker.store import CandleStore

BATCH = 1000
IDLE_SLEEP_S = 0.05
BUSY_S = 0.1  # passes that rolled trades start this far apart: each gathers more (candles are of seconds)
FLUSHER_LEASE_S = 5.0
QUOTE_INTERVAL_S = 0.25  # live quotes at most 4 times a second per symbol


def accelerated_clock(origin_ms: int, speed: int):
    """Epoch seconds that run ``speed`` times faster than real time from ``origin_ms`` on."""
    return lambda: (origin_ms + (time.time() * 1000 - origin_ms) * speed) / 1000


class SymbolTicker:
    def __init__(self, client: redis.Redis, store: CandleStore, symbol: str, clock=time.time,
                 feed: LiveFeed | None = None):
        self.client = client
        self.store = store
        self.symbol = symbol
        self.clock = clock
        self.feed = feed
        self.flusher = Lease(client, keys.flusher_lease(symbol), FLUSHER_LEASE_S)
        self._quoted_sequence: bytes | None = None
        self._quoted_at = 0.0

    def roll_once(self) -> int:
        """Fold the next batch of journal entries; returns entries read (0: caught up or lost a race)."""
        cursor = self.client.get(keys.ticker_cursor(self.symbol)) or b"0-0"
        entries = self.client.xrange(keys.events(self.symbol), min=b"(" + cursor, count=BATCH)
        if not entries:
            return 0
        trades = [(trade.time, trade.price, trade.quantity) for trade in journal.read_trades(entries)]
        if not self.store.roll(self.symbol, cursor, entries[-1][0], trades):
            return 0  # another replica applied this batch first
        APPLIED_SEQUENCE.labels(self.symbol, "candles").set(journal.entry_sequence(entries[-1][1]))
        if trades and self.feed is not None:
            live = self.store.live_minute(self.symbol)
            if live is not None:
                self.feed.candle(self.symbol, "1m", candle_view(live))
        return len(entries)

    def run_once(self) -> int:
        work = 0
        while (count := self.roll_once()) > 0:
            work += count
        self.store.close_due(self.symbol, int(self.clock()))
        if self.flusher.ensure():
            work += self.store.persist_closed_minutes(self.symbol)
            self._publish_quote()
        return work

    def _publish_quote(self) -> None:
        """The L1 quote, when the book's sequence moved since the last one (at most 4 a second)."""
        if self.feed is None or time.monotonic() - self._quoted_at < QUOTE_INTERVAL_S:
            return
        sequence = self.client.get(keys.seq(self.symbol))
        if sequence == self._quoted_sequence:
            return
        self._quoted_sequence, self._quoted_at = sequence, time.monotonic()
        self.feed.ticker(self.symbol, quote(self.client, self.store, self.symbol, int(self.clock())))

    def stop(self) -> None:
        self.flusher.release()


class TickerWorker(Worker):
    name = "ticker.worker"

    def bootstrap(self) -> None:
        settings = Settings.from_env()
        client = redis_client.connect(settings)
        db = mongo.database(settings.mongo_url, settings.mongo_db)
        mongo.ensure_indexes(db)
        store = CandleStore(client, db, Scripts(client))
        clock = time.time
        if settings.ticker_clock_speed != 1:
            clock = accelerated_clock(settings.ticker_clock_origin_ms, settings.ticker_clock_speed)
        feed = LiveFeed(settings.redis_url)
        self.tickers = [SymbolTicker(client, store, symbol, clock, feed) for symbol in settings.symbols]
        self.candle_passes = SymbolPasses("candles")

    def loops(self) -> dict[str, Loop]:
        return {"candles": Loop(self.roll, idle_s=IDLE_SLEEP_S, busy_s=BUSY_S, retry_on=redis_client.UNAVAILABLE)}

    def roll(self) -> int:
        """Each symbol's pass. A symbol whose Redis node is unavailable is tried again a second
        later while the others roll on (its cursor makes the retried batch count once)."""
        return self.candle_passes.run((ticker.symbol, ticker.run_once) for ticker in self.tickers)

    def teardown(self) -> None:
        for ticker in self.tickers:
            ticker.stop()


def main() -> None:
    run(TickerWorker())


if __name__ == "__main__":
    main()
