"""OHLCV candles: pure arithmetic on integer ticks, shares and epoch seconds. No I/O.

A candle covers [start, start + interval) and is built from the trades whose
time falls in it, in journal order: open is the first trade's price, close the
last, high/low the extremes, volume the shares, trades the count. Minutes with
no trades have no candle. The live 1s/1m candles are folded trade by trade in
Redis (``roll_candles.lua``); larger intervals are rolled up here from minutes.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}
MINUTE = 60


@dataclass(frozen=True)
class Candle:
    start: int  # epoch seconds, a multiple of the interval
    open: int
    high: int
    low: int
    close: int
    volume: int
    trades: int


def merge(earlier: Candle, later: Candle, start: int) -> Candle:
    """One candle covering two consecutive ones (``earlier`` before ``later``)."""
    return Candle(start, earlier.open, max(earlier.high, later.high), min(earlier.low, later.low),
                  later.close, earlier.volume + later.volume, earlier.trades + later.trades)


def rollup(minutes: Iterable[Candle], interval_s: int) -> list[Candle]:
    """Minute candles (oldest first) rolled up into ``interval_s`` candles, oldest first."""
    out: list[Candle] = []
    for candle in minutes:
        start = candle.start - candle.start % interval_s
        if out and out[-1].start == start:
            out[-1] = merge(out[-1], candle, start)
        else:
            out.append(replace(candle, start=start))
    return out
