"""Candles built trade by trade and rolled up equal a naive aggregation, for every interval."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from ticker.candles import INTERVALS, MINUTE, Candle, bucket, first_trade, rollup

BASE_MS = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000  # midnight, so day boundaries are in range


def naive(trades: list[tuple[int, int, int]], interval_s: int) -> list[Candle]:
    """Group trades by floor(time / interval) and read OHLCV off each group, in order."""
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for trade in trades:
        groups.setdefault(trade[0] // 1000 // interval_s * interval_s, []).append(trade)
    return [Candle(start, g[0][1], max(t[1] for t in g), min(t[1] for t in g), g[-1][1],
                   sum(t[2] for t in g), len(g)) for start, g in sorted(groups.items())]


def live_minutes(trades: list[tuple[int, int, int]]) -> list[Candle]:
    """What the ticker does: fold each trade into the current minute candle, closing it on a new minute."""
    closed: list[Candle] = []
    current: Candle | None = None
    for time_ms, price, quantity in trades:
        start = bucket(time_ms, MINUTE)
        if current is not None and current.start == start:
            current = current.add(price, quantity)
        else:
            if current is not None:
                closed.append(current)
            current = first_trade(start, price, quantity)
    return closed + ([current] if current else [])


# Trades in time order, clustered so minute, hour and day boundaries are crossed.
gaps = st.lists(st.tuples(st.sampled_from([0, 1, 999, 1_000, 59_999, 60_000, 3_600_000, 86_400_000 - 5]),
                          st.integers(1, 20_000), st.integers(1, 500)), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None)
@given(gaps)
def test_minute_candles_and_every_rollup_equal_the_naive_aggregation(steps):
    trades, now = [], BASE_MS - 30_000
    for gap, price, quantity in steps:
        now += gap
        trades.append((now, price, quantity))
    minutes = live_minutes(trades)
    assert minutes == naive(trades, MINUTE)
    for name, seconds in INTERVALS.items():
        assert rollup(minutes, seconds) == naive(trades, seconds), name


def test_a_minute_boundary_splits_candles_exactly():
    trades = [(BASE_MS + 59_999, 100, 1), (BASE_MS + 60_000, 90, 2), (BASE_MS + 119_999, 95, 3)]
    assert live_minutes(trades) == [Candle(BASE_MS // 1000, 100, 100, 100, 100, 1, 1),
                                    Candle(BASE_MS // 1000 + 60, 90, 95, 90, 95, 5, 2)]
    assert rollup(live_minutes(trades), 300) == [Candle(BASE_MS // 1000, 100, 100, 90, 95, 6, 3)]
