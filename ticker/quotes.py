"""Level-1 quotes and candles in the shapes the REST API and the live feed share."""
from __future__ import annotations

import redis

from exchange.money import format_cents, format_price
from exchange.top_of_book import read_top
from ticker.candles import Candle, rollup
from ticker.stats import CONVENTIONS, Grid, window_stats
from ticker.store import CandleStore

DAY_S = 86_400
# Under a minute, from the 1s candles the ticker keeps for the last ten minutes only.
STATS_INTERVALS = {"1s": 1, "5s": 5, "15s": 15, "1m": 60, "5m": 300, "1h": 3600}


def half_ticks(total: int) -> str:
    """(bid + ask) / 2 as an exact decimal string: a mid may fall on half a tick."""
    whole = format_cents(total // 2)
    return whole + "5" if total % 2 else whole


def candle_view(candle: Candle) -> dict:
    return {"start": candle.start, "open": format_price(candle.open), "high": format_price(candle.high),
            "low": format_price(candle.low), "close": format_price(candle.close), "volume": candle.volume,
            "trades": candle.trades}


def quote(client: redis.Redis, store: CandleStore, symbol: str, now_s: int) -> dict:
    """Best bid/ask, spread, mid, last trade and the last 24 hours' volume and change."""
    top = read_top(client, symbol)
    bid, ask = top.bid, top.ask
    day = store.minutes(symbol, now_s - DAY_S - (now_s - DAY_S) % 60, now_s + 60)
    return {
        "symbol": symbol, "sequence": top.sequence,
        "bid": format_price(bid), "ask": format_price(ask),
        "spread": format_price(ask - bid) if bid is not None and ask is not None else None,
        "mid": half_ticks(bid + ask) if bid is not None and ask is not None else None,
        "last": format_price(top.last),
        "volume_24h": sum(c.volume for c in day),
        "open_24h": format_price(day[0].open) if day else None,
        "change_24h": format_price(day[-1].close - day[0].open) if day else None,
        **top.status.as_view(now_s * 1000),
    }


def stats_view(store: CandleStore, symbols: list[str], interval: str, window: int, now_s: int, *,
               series: bool = False) -> dict:
    """``GET /stats``: the figures of ticker/stats.py over the last ``window`` intervals, the live
    one included (InsufficientData names what is missing)."""
    interval_s = STATS_INTERVALS[interval]
    grid = Grid(interval_s, now_s - now_s % interval_s, window)
    if interval_s < 60:  # the ticker keeps the last ten minutes of 1s candles in Redis
        candles = {symbol: rollup(store.recent_seconds(symbol), interval_s) for symbol in symbols}
    else:
        candles = {symbol: rollup(store.minutes(symbol, grid.first_start, grid.last_start + interval_s), interval_s)
                   for symbol in symbols}
    figures = window_stats(candles, grid, series=series)
    for figure in figures["symbols"].values():
        figure["last"] = format_price(figure["last"])
    return {"interval": interval, "window": window, "start": grid.first_start,
            "end": grid.last_start + interval_s, **figures, "conventions": CONVENTIONS}
