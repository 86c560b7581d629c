"""Public market data read from the live book: symbols, L2 book, ticker, recent trades."""
from __future__ import annotations

import orjson
import redis

from exchange import keys
from exchange.scripts import Scripts
from orderbook import views

SYMBOL_NAMES = {"KRYP": "Kryptonite", "ADAM": "Adamantium", "PUPS": "Puppies"}


class MarketData:
    def __init__(self, client: redis.Redis, scripts: Scripts, symbols: tuple[str, ...]):
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

    def ticker(self, symbol: str) -> dict:
        pipe = self.client.pipeline(transaction=True)  # one consistent moment of the book
        pipe.get(keys.seq(symbol))
        pipe.zrange(keys.bids(symbol), 0, 0, withscores=True)
        pipe.zrange(keys.asks(symbol), 0, 0, withscores=True)
        pipe.lindex(keys.trades(symbol), 0)
        seq, best_bid, best_ask, last = pipe.execute()
        bid = -int(best_bid[0][1]) if best_bid else None
        ask = int(best_ask[0][1]) if best_ask else None
        last_trade = orjson.loads(last) if last else None
        both = bid is not None and ask is not None
        return {
            "symbol": symbol, "sequence": int(seq or 0),
            "bid": views.price(bid), "ask": views.price(ask),
            "spread": views.price(ask - bid) if both else None,
            "mid": views.half_ticks(bid + ask) if both else None,
            "last": views.price(last_trade["price"]) if last_trade else None,
        }

    def trades(self, symbol: str, limit: int) -> list[dict]:
        raw = self.client.lrange(keys.trades(symbol), 0, limit - 1)
        return [{"trade_id": t["trade_id"], "price": views.price(t["price"]), "quantity": t["quantity"],
                 "time": t["time"], "taker_side": t["taker_side"], "sequence": t["sequence"]}
                for t in map(orjson.loads, raw)]
