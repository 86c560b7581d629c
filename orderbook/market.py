"""Public market data read from the live book: symbols, L2 book, recent trades."""
from __future__ import annotations

import time

import orjson
import redis

from exchange import keys
from exchange.money import CASH_LABEL
from exchange.scripts import Scripts
from exchange.trading_status import TradingStatus
from orderbook import views
from orderbook.book_hash import RestingLine, book_hash
from orderbook.model import Side

SYMBOL_NAMES = {"KRYP": "Kryptonite", "ADAM": "Adamantium", "PUPS": "Puppies"}


def book_levels(scripts: Scripts, symbol: str, depth: int) -> tuple[int, list[int], list[int]]:
    """(sequence, [price, qty, ...] bids, [...] asks) of the best ``depth`` levels, in ticks, read atomically."""
    seq, bids, asks = scripts.book_snapshot(
        keys=[keys.seq(symbol), keys.levels(symbol, "buy"), keys.levels(symbol, "sell"),
              keys.depth(symbol, "buy"), keys.depth(symbol, "sell")], args=[depth])
    return int(seq), [int(n) for n in bids], [int(n) for n in asks]


class MarketData:
    def __init__(self, client: redis.Redis, scripts: Scripts, symbols: tuple[str, ...], maker_fee_bps: int = 0,
                 taker_fee_bps: int = 0):
        """Book and trades; the L1 quote and candles are the ticker's (ticker.quotes)."""
        self.client = client
        self.scripts = scripts
        self.symbols = symbols
        self.fees = {"maker_fee_bps": maker_fee_bps, "taker_fee_bps": taker_fee_bps}

    def list_symbols(self) -> list[dict]:
        """Each listed symbol with its fee rates and trading status (one round trip for all)."""
        pipe = self.client.pipeline(transaction=False)
        for symbol in self.symbols:
            pipe.get(keys.trading_status(symbol))
        now_ms = int(time.time() * 1000)
        return [{"symbol": s, "name": SYMBOL_NAMES.get(s, s), "tick_size": "0.01", "currency": CASH_LABEL,
                 **self.fees, **TradingStatus.from_json(status).as_view(now_ms)} for s, status in zip(self.symbols, pipe.execute())]

    def book(self, symbol: str, depth: int) -> dict:
        seq, bids, asks = book_levels(self.scripts, symbol, depth)
        return {"symbol": symbol, "sequence": seq, "bids": views.levels(bids), "asks": views.levels(asks)}

    def state_hash(self, symbol: str) -> dict:
        """``{symbol, sequence, hash}`` of the live book (orderbook/book_hash.py), read atomically."""
        seq, bids, asks = self.scripts.book_orders(
            keys=[keys.seq(symbol), keys.bids(symbol), keys.asks(symbol), keys.orders(symbol)])
        lines = [*resting_lines(Side.BUY, bids), *resting_lines(Side.SELL, asks)]
        return {"symbol": symbol, "sequence": int(seq), "hash": book_hash(lines)}



def resting_lines(side: Side, flat: list[bytes]) -> list[RestingLine]:
    """book_orders.lua's {member, state, ...} of one side as the hash's lines, best first."""
    lines = []
    for member, raw in zip(flat[::2], flat[1::2]):
        priority, order_id = member.decode().split(":", 1)
        state = orjson.loads(raw)  # a member without a state would be a corrupt book: let it fail loudly
        lines.append(RestingLine(side, state["price"], int(priority), order_id, state["remaining_quantity"]))
    return lines
