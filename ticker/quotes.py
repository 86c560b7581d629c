"""Level-1 quotes and candles in the shapes the REST API and the live feed share."""
from __future__ import annotations

import orjson
import redis

from exchange import keys
from exchange.money import format_cents
from ticker.candles import Candle
from ticker.store import CandleStore

DAY_S = 86_400


def price(ticks: int | None) -> str | None:
    return None if ticks is None else format_cents(ticks)


def half_ticks(total: int) -> str:
    """(bid + ask) / 2 as an exact decimal string: a mid may fall on half a tick."""
    whole = format_cents(total // 2)
    return whole + "5" if total % 2 else whole


def candle_view(candle: Candle) -> dict:
    return {"start": candle.start, "open": price(candle.open), "high": price(candle.high),
            "low": price(candle.low), "close": price(candle.close), "volume": candle.volume,
            "trades": candle.trades}


def quote(client: redis.Redis, store: CandleStore, symbol: str, now_s: int) -> dict:
    """Best bid/ask, spread, mid, last trade and the last 24 hours' volume and change."""
    pipe = client.pipeline(transaction=True)  # one consistent moment of the book
    pipe.get(keys.seq(symbol))
    pipe.zrange(keys.bids(symbol), 0, 0, withscores=True)
    pipe.zrange(keys.asks(symbol), 0, 0, withscores=True)
    pipe.lindex(keys.trades(symbol), 0)
    seq, best_bid, best_ask, last = pipe.execute()
    bid = -int(best_bid[0][1]) if best_bid else None
    ask = int(best_ask[0][1]) if best_ask else None
    last_price = orjson.loads(last)["price"] if last else None
    both = bid is not None and ask is not None
    day = store.minutes(symbol, now_s - DAY_S - (now_s - DAY_S) % 60, now_s + 60)
    return {
        "symbol": symbol, "sequence": int(seq or 0),
        "bid": price(bid), "ask": price(ask),
        "spread": price(ask - bid) if both else None,
        "mid": half_ticks(bid + ask) if both else None,
        "last": price(last_price),
        "volume_24h": sum(c.volume for c in day),
        "open_24h": price(day[0].open) if day else None,
        "change_24h": price(day[-1].close - day[0].open) if day else None,
    }
