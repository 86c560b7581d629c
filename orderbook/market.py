"""Public market data read from the live book: symbols, L2 book, recent trades."""
from __future__ import annotations

import orjson
import redis

from exchange import keys
from exchange.scripts import Scripts
from orderbook import views

SYMBOL_NAMES = {"KRYP": "Kryptonite", "ADAM": "Adamantium", "PUPS": "Puppies"}


def book_levels(scripts: Scripts, symbol: str, depth: int) -> tuple[int, list[int], list[int]]:
    """(sequence, [price, qty, ...] bids, [...] asks) of the best ``depth`` levels, in ticks, read atomically."""
    seq, bids, asks = scripts.book_snapshot(
        keys=[keys.seq(symbol), keys.levels(symbol, "buy"), keys.levels(symbol, "sell"),
              keys.depth(symbol, "buy"), keys.depth(symbol, "sell")], args=[depth])
    return int(seq), [int(n) for n in bids], [int(n) for n in asks]


class MarketData:
    def __init__(self, client: redis.Redis, scripts: Scripts, symbols: tuple[str, ...]):
        """Book and trades; the L1 quote and candles are the ticker's (ticker.quotes)."""
        self.client = client
        self.scripts = scripts
        self.symbols = symbols

    def list_symbols(self) -> list[dict]:
        return [{"symbol": s, "name": SYMBOL_NAMES.get(s, s), "tick_size": "0.01", "currency": "USD"}
                for s in self.symbols]

    def book(self, symbol: str, depth: int) -> dict:
        seq, bids, asks = book_levels(self.scripts, symbol, depth)
        return {"symbol": symbol, "sequence": seq, "bids": views.levels(bids), "asks": views.levels(asks)}

    def trades(self, symbol: str, limit: int) -> list[dict]:
        raw = self.client.lrange(keys.trades(symbol), 0, limit - 1)
        return [{"trade_id": t["trade_id"], "price": views.price(t["price"]), "quantity": t["quantity"],
                 "time": t["time"], "taker_side": t["taker_side"], "sequence": t["sequence"]}
                for t in map(orjson.loads, raw)]
