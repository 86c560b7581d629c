"""A symbol's best bid, best ask, last trade price and trading status, read from its live book.

One reader for order entry (a market order's collar), the ticker's quote, the
bot runner's quotes and the leaderboard's marks. Book scores are integer ticks
(bids are stored as -price) and are read straight as ints: no float touches a price.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import orjson
import redis

from exchange import keys
from exchange.trading_status import TradingStatus


@dataclass(frozen=True)
class TopOfBook:
    sequence: int  # the journal sequence the book is at
    bid: int | None
    ask: int | None
    last: int | None  # the last trade's price
    status: TradingStatus = TradingStatus()


def read_tops(client: redis.Redis, symbols: Iterable[str]) -> dict[str, TopOfBook]:
    """{symbol: its top of book}, in one round trip. Each symbol's five reads are one
    transaction in its own slot, so a quote is never half of one commit."""
    symbols = list(symbols)
    pipe = client.pipeline(transaction=len(symbols) == 1)
    for symbol in symbols:
        pipe.get(keys.seq(symbol))
        pipe.zrange(keys.bids(symbol), 0, 0, withscores=True, score_cast_func=int)
        pipe.zrange(keys.asks(symbol), 0, 0, withscores=True, score_cast_func=int)
        pipe.lindex(keys.trades(symbol), 0)
        pipe.get(keys.trading_status(symbol))
    replies = pipe.execute()
    tops = {}
    for i, symbol in enumerate(symbols):
        seq, best_bid, best_ask, last, status = replies[5 * i:5 * i + 5]
        tops[symbol] = TopOfBook(sequence=int(seq or 0), bid=-best_bid[0][1] if best_bid else None,
                                 ask=best_ask[0][1] if best_ask else None,
                                 last=orjson.loads(last)["price"] if last else None,
                                 status=TradingStatus.from_json(status))
    return tops


def read_top(client: redis.Redis, symbol: str) -> TopOfBook:
    return read_tops(client, [symbol])[symbol]


def read_best(client: redis.Redis, symbol: str, side: str) -> int | None:
    """The best price on one side ('buy': the best bid, 'sell': the best ask), in one read."""
    key = keys.bids(symbol) if side == "buy" else keys.asks(symbol)
    best = client.zrange(key, 0, 0, withscores=True, score_cast_func=int)
    if not best:
        return None
    return -best[0][1] if side == "buy" else best[0][1]
