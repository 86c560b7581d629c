"""What the runner evaluates rules against, read from Redis: the same data GET /ticker
and GET /account answer with, without a request per bot or the API's rate limits."""
from __future__ import annotations

from typing import Iterable

import orjson
import redis

from bots.rules import Quote
from exchange import keys
from ledger.accounts import CASH, Accounts, NoAccount


def quotes(client: redis.Redis, symbols: Iterable[str]) -> dict[str, Quote]:
    """Last trade, best bid and best ask (cents) of each symbol."""
    symbols = sorted(symbols)
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.lindex(keys.trades(symbol), 0)
        # Scores are integer ticks (bids -price); read them as ints so no float touches a price.
        pipe.zrange(keys.bids(symbol), 0, 0, withscores=True, score_cast_func=int)
        pipe.zrange(keys.asks(symbol), 0, 0, withscores=True, score_cast_func=int)
    replies = pipe.execute()
    out = {}
    for i, symbol in enumerate(symbols):
        last, best_bid, best_ask = replies[3 * i:3 * i + 3]
        out[symbol] = Quote(last=orjson.loads(last)["price"] if last else None,
                            bid=-best_bid[0][1] if best_bid else None,
                            ask=best_ask[0][1] if best_ask else None)
    return out


def holdings(accounts: Accounts, owner_id: str) -> tuple[int | None, dict[str, int] | None]:
    """(cash cents, {symbol: shares}) of an owner, each available + on hold; (None, None) without an account."""
    try:
        balances = accounts.balances(owner_id)
    except NoAccount:
        return None, None
    totals = {asset: amounts["available"] + amounts["on_hold"] for asset, amounts in balances.items()}
    return totals.pop(CASH, 0), totals
