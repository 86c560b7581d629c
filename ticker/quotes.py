"""Level-1 quotes and candles in the shapes the REST API and the live feed share."""
from __future__ import annotations

import redis

from exchange.money import format_cents, format_price
from exchange.top_of_book import read_top
from ticker.candles import Candle
from ticker.store import CandleStore

DAY_S = 86_400


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
    both = bid is not None and ask is not None
    day = store.minutes(symbol, now_s - DAY_S - (now_s - DAY_S) % 60, now_s + 60)
    return {
        "symbol": symbol, "sequence": top.sequence,
        "bid": format_price(bid), "ask": format_price(ask),
        "spread": format_price(ask - bid) if both else None,
        "mid": half_ticks(bid + ask) if both else None,
        "last": format_price(top.last),
        "volume_24h": sum(c.volume for c in day),
        "open_24h": format_price(day[0].open) if day else None,
        "change_24h": format_price(day[-1].close - day[0].open) if day else None,
        **top.status.as_view(now_s * 1000),
    }
