"""Public market data read from the live book: symbols, L2 book, recent trades."""
from __future__ import annotations

import orjson
import redis

from exchange import keys
from exchange.scripts import Scripts
from orderbook import views

SYMBOL_NAMES = {"KRYP": "Kryptonite", "ADAM": "Adamantium", "PUPS": "Puppies"}


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
        seq, bids, asks = self.scripts.book_snapshot(
            keys=[keys.seq(symbol), keys.bids(symbol), keys.asks(symbol), keys.orders(symbol)], args=[depth])
        return {"symbol": symbol, "sequence": int(seq), "bids": views.levels(bids), "asks": views.levels(asks)}

    def trades(self, symbol: str, limit: int) -> list[dict]:
        raw = self.client.lrange(keys.trades(symbol), 0, limit - 1)
        return [{"trade_id": t["trade_id"], "price": views.price(t["price"]), "quantity": t["quantity"],
                 "time": t["time"], "taker_side": t["taker_side"], "sequence": t["sequence"]}
                for t in map(orjson.loads, raw)]
