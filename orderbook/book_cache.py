"""A matcher's copy of one symbol's book, kept between batches and brought up to date from Redis.

The pure ``OrderBook`` holds what matching needs of each resting order; ``records``
holds the rest of its stored state (fees, hold, times), the one copy a batch
updates and commits. Only this class adds or drops either, so they stay in
step. ``seq`` is the journal sequence the copy reflects (None: do not trust it,
reload). Another matcher's batches are followed by replaying the
journal and reading only the orders they touched; anything unusual reloads.
"""
from __future__ import annotations

import orjson
import redis

from exchange import keys
from orderbook.book import OrderBook
from orderbook.commands import resting_from_state
from orderbook.halts import PriceWindow
from orderbook.model import Halted, Resumed, Status
from exchange.trading_status import TradingStatus

CATCH_UP_MAX_EVENTS = 20_000  # beyond this gap a full reload is cheaper


class BookCache:
    def __init__(self, client: redis.Redis, symbol: str, price_window_ms: int = 60_000):
        self.client = client
        self.symbol = symbol
        self.book = OrderBook()
        self.seq: int | None = None  # the sequence the book reflects
        self.journal_id: bytes | None = None  # the journal entry id of that sequence
        self.records: dict[str, dict] = {}  # resting order id -> its stored state
        self.voided: set[str] = set()  # order ids the book refuses for good (keys.voided)
        self.last_price: int | None = None  # the last trade's price: the price band's reference
        self.prices = PriceWindow(price_window_ms)  # the circuit breaker's recent trade prices
        self.status = TradingStatus()  # trading, or halted
        # Set by a reload: the level totals in Redis are rewritten from this book at the next commit.
        self.levels_stale = True
        self.catch_ups = 0

    def rested(self, state: dict) -> None:
        """A batch rested this order (the book already holds it)."""
        self.records[state["order_id"]] = state

    def left(self, order_id: str) -> dict | None:
        """A batch took this order off the book; returns its record if it was resting."""
        return self.records.pop(order_id, None)

    def invalidate(self) -> None:
        """The book ran ahead of Redis (a batch that did not commit): rebuild it before trusting it."""
        self.seq = None

    def sync(self, seq: int) -> None:
        """Bring the book to ``seq``, the sequence Redis is at."""
        if seq != self.seq:
            self.catch_up(seq)

    def reload(self) -> None:
        """Rebuild the book from Redis: every resting order's state, and the voided ids."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.seq(self.symbol))
        pipe.xrevrange(keys.events(self.symbol), count=1)
        pipe.zrange(keys.bids(self.symbol), 0, -1)
        pipe.zrange(keys.asks(self.symbol), 0, -1)
        pipe.zrange(keys.voided(self.symbol), 0, -1)
        pipe.lrange(keys.trades(self.symbol), 0, -1)  # newest first, capped by the commit
        pipe.get(keys.trading_status(self.symbol))
        seq, last_event, bid_members, ask_members, voided, recent, status = pipe.execute()
        order_ids = [m.decode().split(":", 1)[1] for m in bid_members + ask_members]
        raw_states = self.client.hmget(keys.orders(self.symbol), order_ids) if order_ids else []
        self.book, self.records = OrderBook(), {}
        for raw in raw_states:
            self._load(orjson.loads(raw))
        self.voided = {order_id.decode() for order_id in voided}
        self.status = TradingStatus.from_json(status)
        self._load_trades([orjson.loads(trade) for trade in reversed(recent)])
        self.seq = int(seq or 0)
        self.journal_id = last_event[0][0] if last_event else b"0-0"
        self.levels_stale = True

    def catch_up(self, seq: int) -> None:
        """Bring the book from ``self.seq`` to ``seq`` by replaying the journal."""
        gap = seq - (self.seq or 0)
        if self.seq is None or self.journal_id is None or not 0 < gap <= CATCH_UP_MAX_EVENTS:
            return self.reload()
        entries = self.client.xrange(keys.events(self.symbol), min=b"(" + self.journal_id, count=gap)
        if (len(entries) != gap or int(entries[0][1][b"sequence"]) != self.seq + 1
                or int(entries[-1][1][b"sequence"]) != seq):
            return self.reload()
        self._apply_states(self._touched(entries))
        self.seq = seq
        self.journal_id = entries[-1][0]
        self.catch_ups += 1

    def _touched(self, entries: list) -> list[str]:
        """The order ids the journal entries touched (voided ids, trade prices and halts are noted as they pass)."""
        touched: dict[str, None] = {}
        for _id, fields in entries:
            event = orjson.loads(fields[b"event"])
            if event["type"] == "voided":
                self.voided.add(event["order_id"])
                continue
            if event["type"] == "trade":
                self.last_price = event["price"]
                self.prices.add(event["time"], event["price"])
            elif event["type"] in ("halted", "resumed"):
                self.trading(Halted(event["until_ms"], event["reason"]) if event["type"] == "halted"
                             else Resumed(event["reason"]), event["time"])
            for name in ("order_id", "maker_order_id", "taker_order_id"):
                if name in event:
                    touched[event[name]] = None
        return list(touched)

    def _apply_states(self, order_ids: list[str]) -> None:
        raw_states = self.client.hmget(keys.orders(self.symbol), order_ids) if order_ids else []
        states = [orjson.loads(raw) for raw in raw_states if raw]
        for state in sorted(states, key=lambda st: st["priority"] or 0):
            order_id = state["order_id"]
            if Status(state["status"]).is_done:
                self.book.discard(order_id)
                self.records.pop(order_id, None)
                continue
            # After a command is applied, every order that is not done is resting; a new one
            # has a later priority than any the book holds, so it goes last at its level.
            if self.book.get(order_id) is None:
                self._load(state)
            else:
                self.book.resize(order_id, state["quantity"], state["remaining_quantity"])
                self.records[order_id] = state

    def trading(self, event: Halted | Resumed, time_ms: int) -> None:
        """The trading status a halted or resumed event leaves; a halt starts the breaker's window afresh."""
        if isinstance(event, Halted):
            self.status = TradingStatus(True, event.until_ms, event.reason, last_halt_ms=time_ms)
            self.prices.clear()
        else:
            self.status = TradingStatus(last_halt_ms=self.status.last_halt_ms)

    def _load_trades(self, trades: list[dict]) -> None:
        """The recent trades, oldest first: the last price, and the breaker's window since the last halt."""
        self.last_price = trades[-1]["price"] if trades else None
        self.prices.clear()
        since_ms = self.status.last_halt_ms or 0
        for trade in trades:
            if trade["time"] >= since_ms:
                self.prices.add(trade["time"], trade["price"])

    def _load(self, state: dict) -> None:
        self.book.load(resting_from_state(state))
        self.records[state["order_id"]] = state
