"""Two ticker replicas, one killed with SIGKILL again and again across minute boundaries:
every persisted minute candle appears once and equals the naive aggregation of its trades."""
from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from devstack.procs import python_module
from exchange import keys, mongo
from tests.test_candles import naive

SYMBOL = "KRYP"


SPEED = 60  # a minute of trade time per real second


def start_ticker(settings, origin_ms: int):
    return python_module("ticker.worker", env={
        "REDIS_URL": settings.redis_url, "MONGO_URL": settings.mongo_url, "MONGO_DB": settings.mongo_db,
        "SYMBOLS": SYMBOL, "TICKER_CLOCK_SPEED": str(SPEED), "TICKER_CLOCK_ORIGIN_MS": str(origin_ms)})


@pytest.mark.timeout(180)
def test_killed_ticker_replicas_persist_each_minute_exactly_once(settings, redis_client):
    rng = random.Random(4)
    origin_ms = int(time.time() * 1000)
    append_trade = redis_client.register_script((Path(__file__).parent / "append_trade.lua").read_text())
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    db[mongo.CANDLES].delete_many({})
    replicas = [start_ticker(settings, origin_ms), start_ticker(settings, origin_ms)]
    trades, kills = [], 0
    try:
        for chunk in range(30):  # about 25 minutes of trade time
            for _ in range(rng.randint(0, 25)):
                price, quantity = rng.randint(900, 1100), rng.randint(1, 50)
                time_ms = append_trade(keys=[keys.events(SYMBOL)],
                                       args=[origin_ms, SPEED, len(trades) + 1, price, quantity, SYMBOL])
                trades.append((time_ms, price, quantity))
                time.sleep(rng.uniform(0, 0.02))
            if chunk % 3 == 0:
                victim = kills % 2
                replicas[victim].kill(signal.SIGKILL)
                replicas[victim].stop()
                kills += 1
                time.sleep(rng.uniform(0.0, 0.15))
                replicas[victim] = start_ticker(settings, origin_ms)
            time.sleep(rng.uniform(0, 0.3))
        time.sleep(65 / SPEED + 1)  # the last minute ends, its grace passes, a flusher persists it
        expected = naive(trades, 60)
        deadline = time.monotonic() + 60
        while db[mongo.CANDLES].count_documents({"symbol": SYMBOL}) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # any duplicate or late write would show now
    finally:
        for replica in replicas:
            replica.stop()
    assert kills >= 10
    stored = sorted(db[mongo.CANDLES].find({"symbol": SYMBOL}), key=lambda d: d["start"])
    assert [(d["start"], d["open"], d["high"], d["low"], d["close"], d["volume"], d["trades"]) for d in stored] == [
        (c.start, c.open, c.high, c.low, c.close, c.volume, c.trades) for c in expected]
    assert redis_client.zcard(keys.closed_minutes(SYMBOL)) == 0


def test_a_symbol_whose_redis_node_is_away_does_not_hold_up_the_others():
    # On a cluster a symbol's keys live on one node: while it restarts, that symbol's pass
    # fails with CLUSTERDOWN and is tried again a second later; the other symbols roll on.
    import redis

    from exchange.worker import SymbolPasses
    from ticker.worker import TickerWorker

    class Ticker:
        def __init__(self, symbol: str, away: bool):
            self.symbol, self.away, self.passes = symbol, away, 0

        def run_once(self) -> int:
            self.passes += 1
            if self.away:
                raise redis.exceptions.ClusterDownError("The cluster is down")
            return 1

    worker = TickerWorker()
    worker.candle_passes = SymbolPasses("candles")  # what bootstrap builds
    away, fine = Ticker("KRYP", away=True), Ticker("ADAM", away=False)
    worker.tickers = [away, fine]
    assert [worker.roll(), worker.roll()] == [1, 1]
    assert (away.passes, fine.passes) == (1, 2)  # KRYP waits out its second; ADAM rolled both times
