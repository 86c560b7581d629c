"""The pure order book's own checks (validate, load, explicit priorities), then the book against
the naive reference matcher on random command streams (tests/command_streams.py): event for
event, level for level, with per-order accounting rebuilt from the events alone.
tests/test_book.py pins both to the rules by example."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderbook.book import OrderBook
from orderbook.model import Accepted, Amended, Done, Rested, RestingOrder, Side, Status, Trade, Triggered
from tests.command_streams import build_commands, command_specs
from tests.reference_matcher import ReferenceMatcher
from tests.test_book import limit

BUY, SELL = Side.BUY, Side.SELL


# ---- OrderBook only: validate(), load(), explicit priorities ----------------------------------


def test_validate_detects_a_crossed_book():
    book = OrderBook()
    book.load(RestingOrder("b1", "alice", BUY, 101, 1, 1, priority=1))
    book.load(RestingOrder("a1", "bob", SELL, 100, 1, 1, priority=2))
    with pytest.raises(AssertionError, match="crossed"):
        book.validate()


def test_validate_detects_priority_disorder_and_bad_remaining():
    book = OrderBook()
    book.load(RestingOrder("a2", "bob", SELL, 100, 1, 1, priority=7))
    book.load(RestingOrder("a1", "bob", SELL, 100, 1, 1, priority=3))
    with pytest.raises(AssertionError, match="arrival order"):
        book.validate()
    book = OrderBook()
    book.load(RestingOrder("a1", "bob", SELL, 100, 1, 0, priority=3))
    with pytest.raises(AssertionError):
        book.validate()


def test_load_rebuilds_an_equivalent_book():
    original = OrderBook()
    for order in (limit("a1", "alice", SELL, 101, 3), limit("a2", "bob", SELL, 101, 4), limit("b1", "carol", BUY, 99, 2),
                  limit("x", "dave", BUY, 101, 2)):
        original.place(order)
    rebuilt = OrderBook()
    for side in (BUY, SELL):
        for resting in original.resting_orders(side):
            rebuilt.load(RestingOrder(**vars(resting)))
    rebuilt.validate()
    assert rebuilt.l2() == original.l2()
    taker = limit("b2", "erin", BUY, 101, 3)
    assert rebuilt.place(taker) == original.place(taker)
    # A new order gets a priority after every loaded one.
    rebuilt.place(limit("a9", "erin", SELL, 101, 1))
    assert [o.order_id for o in rebuilt.resting_orders(SELL)] == ["a2", "a9"]


def test_explicit_priorities_are_kept():
    book = OrderBook()
    book.place(limit("a1", "alice", SELL, 100, 1), priority=10)
    book.place(limit("a2", "bob", SELL, 100, 1), priority=25)
    assert [o.priority for o in book.resting_orders(SELL)] == [10, 25]
    book.place(limit("a3", "carol", SELL, 100, 1))
    assert book.get("a3").priority == 26
    book.validate()


def test_discard_drops_a_resting_order_and_ignores_unknown_ids():
    book = OrderBook()
    book.place(limit("a1", "alice", SELL, 100, 1))
    book.place(limit("a2", "bob", SELL, 100, 2))
    book.discard("a1")
    book.discard("nope")
    book.validate()
    assert "a1" not in book and book.l2() == ([], [[100, 2]])


# ---- properties: OrderBook == naive reference on random command streams -----------------------


class OrderLedger:
    """Per-order accounting rebuilt from events alone, to check quantity = filled + remaining."""

    def __init__(self):
        self.quantity: dict[str, int] = {}
        self.filled: dict[str, int] = {}
        self.limit: dict[str, int | None] = {}
        self.done: dict[str, Done] = {}

    def observe(self, command, events) -> None:
        for event in events:
            order_id = getattr(event, "order_id", None)
            if isinstance(event, Accepted):
                assert order_id not in self.quantity
                self.quantity[order_id], self.filled[order_id] = event.quantity, 0
                self.limit[order_id] = command.limit
            elif isinstance(event, Trade):
                for oid, remaining in ((event.maker_order_id, event.maker_remaining),
                                       (event.taker_order_id, event.taker_remaining)):
                    assert oid not in self.done, f"{oid} traded after it was done"
                    self.filled[oid] += event.quantity
                    assert self.quantity[oid] == self.filled[oid] + remaining
                # trades at the resting order's price, within the taker's limit
                assert event.price == self.limit[event.maker_order_id]
                taker_limit = self.limit[event.taker_order_id]
                if taker_limit is not None:
                    assert event.price <= taker_limit if event.taker_side is BUY else event.price >= taker_limit
                assert event.maker_user_id != event.taker_user_id, "self trade"
                assert event.quantity > 0
            elif isinstance(event, Amended):
                assert event.quantity == self.filled[order_id] + event.remaining
                self.quantity[order_id] = event.quantity
            elif isinstance(event, Rested):
                assert self.quantity[order_id] == self.filled[order_id] + event.remaining
            elif isinstance(event, Triggered):
                assert order_id in self.quantity and order_id not in self.done and self.filled[order_id] == 0
            elif isinstance(event, Done):
                assert order_id not in self.done, f"{order_id} done twice"
                self.done[order_id] = event
                assert self.quantity[order_id] == self.filled[order_id] + event.remaining
                assert (event.remaining == 0) == (event.status is Status.FILLED)

    def check_resting(self, book: OrderBook) -> None:
        for side in (BUY, SELL):
            for resting in book.resting_orders(side):
                assert resting.order_id not in self.done
                assert self.quantity[resting.order_id] == resting.quantity
                assert self.quantity[resting.order_id] == self.filled[resting.order_id] + resting.remaining
        resting_ids = {o.order_id for side in (BUY, SELL) for o in book.resting_orders(side)}
        parked_ids = {stop.order_id for stop in book.stops}
        assert not parked_ids & (resting_ids | set(self.done))
        # every accepted order is resting, parked or done, never two of them, never none
        assert resting_ids | parked_ids | set(self.done) == set(self.quantity)


def resting_view(book) -> list[tuple]:
    return [(o.order_id, o.user_id, o.side, o.price, o.quantity, o.remaining)
            for side in (BUY, SELL) for o in book.resting_orders(side)]


def parked_view(book) -> list[tuple]:
    stops = [stop.order for stop in book.stops] if isinstance(book, OrderBook) else book.parked_orders()
    return sorted((o.order_id, o.user_id, o.side, o.stop_price, o.quantity) for o in stops)


def check_against_reference(commands, book: OrderBook | None = None, reference: ReferenceMatcher | None = None):
    book = OrderBook() if book is None else book
    reference = ReferenceMatcher() if reference is None else reference
    ledger = OrderLedger()
    for command in commands:
        expected = reference.apply(command)
        actual = book.apply(command)
        assert actual == expected, f"after {command}"
        ledger.observe(command, actual)
        book.validate()
        bid, ask = book.best_bid, book.best_ask
        assert bid is None or ask is None or bid < ask
        assert book.l2() == reference.l2()
        assert resting_view(book) == resting_view(reference)
        assert parked_view(book) == parked_view(reference)
        ledger.check_resting(book)
    return book, reference


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_specs)
def test_book_matches_reference(specs):
    check_against_reference(build_commands(specs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_specs, st.integers(0, 60))
def test_book_reloaded_midway_continues_like_reference(specs, cut):
    """load() (what the Redis matcher does on every cache miss) is a faithful rebuild."""
    commands = build_commands(specs)
    book, reference = check_against_reference(commands[:cut])
    rebuilt = OrderBook()
    for side in (BUY, SELL):
        for resting in book.resting_orders(side):
            rebuilt.load(RestingOrder(**vars(resting)))
    for stop in book.stops:
        rebuilt.load_stop(stop)
    rebuilt.last_price = book.last_price
    rebuilt.validate()
    assert rebuilt.l2() == book.l2()
    for command in commands[cut:]:
        assert rebuilt.apply(command) == reference.apply(command)
        rebuilt.validate()
    assert resting_view(rebuilt) == resting_view(reference)
