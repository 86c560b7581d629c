"""Candles folded by the ticker's Lua and rolled up equal a naive aggregation, for every interval."""
from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange import keys, mongo
from ticker.candles import INTERVALS, MINUTE, Candle, rollup
from ticker.store import CandleStore

BASE_MS = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000  # midnight, so day boundaries are in range
FAR_FUTURE_S = 10**10  # "now", long after every trade: every candle may close by the clock


def naive(trades: list[tuple[int, int, int]], interval_s: int) -> list[Candle]:
    """Group trades by floor(time / interval) and read OHLCV off each group, in order."""
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for trade in trades:
        groups.setdefault(trade[0] // 1000 // interval_s * interval_s, []).append(trade)
    return [Candle(start, g[0][1], max(t[1] for t in g), min(t[1] for t in g), g[-1][1],
                   sum(t[2] for t in g), len(g)) for start, g in sorted(groups.items())]


# Trades in time order, clustered so minute, hour and day boundaries are crossed; cut into batches.
steps = st.lists(st.tuples(st.sampled_from([0, 1, 999, 1_000, 59_999, 60_000, 3_600_000, 86_400_000 - 5]),
                           st.integers(95, 105), st.integers(1, 500), st.booleans()), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=steps, close_between=st.booleans())
def test_redis_candles_and_every_rollup_equal_the_naive_aggregation(redis_client, settings, steps, close_between):
    redis_client.flushall()
    store = CandleStore(redis_client, mongo.database(settings.mongo_url, settings.mongo_db))
    store.db[mongo.CANDLES].delete_many({})
    trades, batch, now = [], [], BASE_MS - 30_000
    for gap, price, quantity, end_batch in steps:
        now += gap
        trades.append((now, price, quantity))
        batch.append(trades[-1])
        entry = redis_client.xadd(keys.events("KRYP"), {"sequence": len(trades), "event": orjson.dumps({})})
        if end_batch:
            before = redis_client.get(keys.ticker_cursor("KRYP")) or b"0-0"
            assert store.roll("KRYP", before, entry, batch)
            assert not store.roll("KRYP", before, entry, batch)  # a second replica's copy is refused
            batch = []
            if close_between:  # the clock closing a candle must not change it
                store.close_due("KRYP", now // 1000)
    if batch:
        before = redis_client.get(keys.ticker_cursor("KRYP")) or b"0-0"
        assert store.roll("KRYP", before, entry, batch)
    minutes = store.minutes("KRYP", 0, FAR_FUTURE_S)
    assert minutes == naive(trades, MINUTE)
    assert store.recent_seconds("KRYP") == naive(trades, 1)[-601:]
    for name, seconds in INTERVALS.items():
        assert rollup(minutes, seconds) == naive(trades, seconds), name
    store.close_due("KRYP", FAR_FUTURE_S)
    while store.persist_closed_minutes("KRYP"):
        pass
    assert store.minutes("KRYP", 0, FAR_FUTURE_S) == naive(trades, MINUTE)  # now all read back from MongoDB


def test_a_minute_boundary_splits_candles_exactly(redis_client, settings):
    store = CandleStore(redis_client, mongo.database(settings.mongo_url, settings.mongo_db))
    trades = [(BASE_MS + 59_999, 100, 1), (BASE_MS + 60_000, 90, 2), (BASE_MS + 119_999, 95, 3)]
    entry = redis_client.xadd(keys.events("KRYP"), {"sequence": 1, "event": b"{}"})
    assert store.roll("KRYP", b"0-0", entry, trades)
    minutes = store.minutes("KRYP", 0, FAR_FUTURE_S)
    assert minutes == [Candle(BASE_MS // 1000, 100, 100, 100, 100, 1, 1),
                       Candle(BASE_MS // 1000 + 60, 90, 95, 90, 95, 5, 2)]
    assert rollup(minutes, 300) == [Candle(BASE_MS // 1000, 100, 100, 90, 95, 6, 3)]
