"""A matcher's copy of one symbol's book, kept between batches and brought up to date from Redis.

The pure ``OrderBook`` holds what matching needs of each open order (resting, or a
parked stop); ``records`` holds the rest of its stored state (fees, hold, times), the one copy a batch
updates and commits. Only this class adds or drops either, so they stay in
step. ``seq`` is the journal sequence the copy reflects (None: do not trust it,
reload). Another matcher's batches are followed by replaying the
journal and reading only the orders they touched; anything unusual reloads.
"""
from __future__ import annotations

import time

import orjson
import redis

from exchange import journal, keys
from exchange.journal import OrderRecord
from exchange.trading_status import TradingStatus
from orderbook.book import OrderBook
from orderbook.commands import resting_from_state, stop_from_state
from orderbook.halts import PriceWindow
from orderbook.model import Halted, Resumed, Status

CATCH_UP_MAX_EVENTS = 20_000  # beyond this gap a full reload is cheaper
WINDOW_READ_COUNT = 10_000  # journal entries read at a time to rebuild the breaker's window
WINDOW_CLOCK_SLACK_MS = 5_000  # journal ids are Redis's clock, event times the matchers'


class BookCache:
    def __init__(self, client: redis.Redis, symbol: str, price_window_ms: int | None = None):
        self.client = client
        self.symbol = symbol
        self.book = OrderBook()
        self.seq: int | None = None  # the sequence the book reflects
        self.journal_id: bytes | None = None  # the journal entry id of that sequence
        self.records: dict[str, OrderRecord] = {}  # open (resting or parked) order id -> its stored state
        self.voided: set[str] = set()  # order ids the book refuses for good (keys.voided)
        # The circuit breaker's recent trade prices (None: no breaker, nothing to keep).
        self.prices = PriceWindow(price_window_ms) if price_window_ms else None
        self.status = TradingStatus()  # trading, or halted
        # Set by a reload: the level totals in Redis are rewritten from this book at the next commit.
        self.levels_stale = True
        self.catch_ups = 0

    def opened(self, state: OrderRecord) -> None:
        """A batch rested or parked this order (the book already holds it)."""
        self.records[state["order_id"]] = state

    def left(self, order_id: str) -> OrderRecord | None:
        """A batch took this order off the book or out of the parked stops; returns its record if it was there."""
        return self.records.pop(order_id, None)

    def invalidate(self) -> None:
        """The book ran ahead of Redis (a batch that did not commit): rebuild it before trusting it."""
        self.seq = None

    def sync(self, seq: int) -> None:
        """Bring the book to ``seq``, the sequence Redis is at."""
        if seq != self.seq:
            self.catch_up(seq)

    def reload(self) -> None:
        """Rebuild the book from Redis: every resting order's and parked stop's state, and the voided ids."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.seq(self.symbol))
        pipe.xrevrange(keys.events(self.symbol), count=1)
        pipe.zrange(keys.bids(self.symbol), 0, -1)
        pipe.zrange(keys.asks(self.symbol), 0, -1)
        pipe.zrange(keys.stops(self.symbol), 0, -1)
        pipe.zrange(keys.voided(self.symbol), 0, -1)
        pipe.lindex(keys.trades(self.symbol), 0)
        pipe.get(keys.trading_status(self.symbol))
        seq, last_event, bid_members, ask_members, stop_members, voided, last_trade, status = pipe.execute()
        order_ids = [m.decode().split(":", 1)[1] for m in bid_members + ask_members + stop_members]
        raw_states = self.client.hmget(keys.orders(self.symbol), order_ids) if order_ids else []
        self.book, self.records = OrderBook(), {}
        for raw in raw_states:
            self._load(orjson.loads(raw))
        self.voided = {order_id.decode() for order_id in voided}
        self.status = TradingStatus.from_json(status)
        self.book.last_price = orjson.loads(last_trade)["price"] if last_trade else None
        self._load_window()
        self.seq = int(seq or 0)
        self.journal_id = last_event[0][0] if last_event else b"0-0"
        self.levels_stale = True

    def catch_up(self, seq: int) -> None:
        """Bring the book from ``self.seq`` to ``seq`` by replaying the journal."""
        gap = seq - (self.seq or 0)
        if self.seq is None or self.journal_id is None or not 0 < gap <= CATCH_UP_MAX_EVENTS:
            return self.reload()
        entries = self.client.xrange(keys.events(self.symbol), min=b"(" + self.journal_id, count=gap)
        if (len(entries) != gap or journal.entry_sequence(entries[0][1]) != self.seq + 1
                or journal.entry_sequence(entries[-1][1]) != seq):
            return self.reload()
        self._apply_states(self._touched(entries))
        self.seq = seq
        self.journal_id = entries[-1][0]
        self.catch_ups += 1

    def _touched(self, entries: list) -> list[str]:
        """The order ids the journal entries touched (voided ids, trade prices and halts are noted as they pass)."""
        touched: dict[str, None] = {}
        for _id, event in journal.read_entries(entries):
            if isinstance(event, journal.VoidedEvent):
                self.voided.add(event.order_id)
                continue
            if isinstance(event, journal.TradeEvent):
                self.book.last_price = event.price
                if self.prices is not None:
                    self.prices.add(event.time, event.price)
            elif isinstance(event, (journal.HaltedEvent, journal.ResumedEvent)):
                self.trading(event, event.sequence)
            touched.update(dict.fromkeys(journal.orders_named(event)))
        return list(touched)

    def _apply_states(self, order_ids: list[str]) -> None:
        raw_states = self.client.hmget(keys.orders(self.symbol), order_ids) if order_ids else []
        for order_id, raw in zip(order_ids, raw_states):
            if raw is None:  # done and already moved to MongoDB (ledger/forget.py), or never stored
                self.book.discard(order_id)
                self.records.pop(order_id, None)
        states = [orjson.loads(raw) for raw in raw_states if raw]
        for state in sorted(states, key=lambda st: st["priority"] or 0):
            order_id = state["order_id"]
            if Status(state["status"]).is_done:
                self.book.discard(order_id)
                self.records.pop(order_id, None)
                continue
            # After a command is applied, every order that is not done is resting or parked; a
            # new one has a later priority than any the book holds, so it goes last at its level.
            if order_id in self.book.stops:  # still parked (perhaps amended), or triggered since
                self.book.discard(order_id)
                self._load(state)
            elif self.book.get(order_id) is None:
                self._load(state)
            else:
                self.book.resize(order_id, state["quantity"], state["remaining_quantity"])
                self.records[order_id] = state

    def trading(self, event: Halted | Resumed | journal.HaltedEvent | journal.ResumedEvent, sequence: int) -> None:
        """The trading status a halted or resumed event (at ``sequence``) leaves, as the matcher
        makes it or as the journal keeps it; a halt starts the breaker's window afresh."""
        if isinstance(event, (Halted, journal.HaltedEvent)):
            self.status = TradingStatus(True, event.until_ms, event.reason, last_halt_seq=sequence)
            if self.prices is not None:
                self.prices.clear()
        else:
            self.status = TradingStatus(last_halt_seq=self.status.last_halt_seq)

    def _load_window(self) -> None:
        """The breaker's window from the journal: the trades of its last span, after the last halt,
        exactly as a matcher that followed the journal holds them."""
        if self.prices is None:
            return
        self.prices.clear()
        since_ms = int(time.time() * 1000) - self.prices.window_ms - WINDOW_CLOCK_SLACK_MS
        after = f"{since_ms}-0"
        while True:
            entries = self.client.xrange(keys.events(self.symbol), min=after, count=WINDOW_READ_COUNT)
            for _entry_id, event in journal.read_entries(entries):
                if isinstance(event, journal.TradeEvent) and event.sequence > self.status.last_halt_seq:
                    self.prices.add(event.time, event.price)
            if len(entries) < WINDOW_READ_COUNT:
                return
            after = b"(" + entries[-1][0]

    def _load(self, state: OrderRecord) -> None:
        if state["status"] == Status.UNTRIGGERED:
            self.book.load_stop(stop_from_state(state))
        else:
            self.book.load(resting_from_state(state))
        self.records[state["order_id"]] = state
