"""The pure order book: examples of every rule, then property tests against the naive reference.

The example tests run against both ``OrderBook`` and ``ReferenceMatcher`` (two
implementations, one suite), so the reference the property tests trust is
itself pinned to the rules by hand-written cases.
"""
from __future__ import annotations

import pytest

from orderbook.book import OrderBook
from orderbook.model import (
    Accepted,
    Amended,
    AmendOrder,
    CancelOrder,
    CommandRejected,
    Done,
    NewOrder,
    OrderType,
    Rested,
    SelfTrade,
    Side,
    Status,
    TimeInForce,
    Trade,
)
from tests.reference_matcher import ReferenceMatcher

BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK


@pytest.fixture(params=[OrderBook, ReferenceMatcher], ids=["book", "reference"])
def book(request):
    return request.param()


def limit(order_id, user_id, side, price, quantity, **kw) -> NewOrder:
    return NewOrder(order_id, user_id, side, quantity, OrderType.LIMIT, price, **kw)


def market(order_id, user_id, side, quantity, protection_price=None, **kw) -> NewOrder:
    return NewOrder(order_id, user_id, side, quantity, OrderType.MARKET, None,
                    protection_price=protection_price, **kw)


def trades(events) -> list[tuple[str, str, int, int]]:
    return [(e.maker_order_id, e.taker_order_id, e.price, e.quantity) for e in events if isinstance(e, Trade)]


def done(events) -> dict[str, tuple[Status, str, int]]:
    return {e.order_id: (e.status, e.reason, e.remaining) for e in events if isinstance(e, Done)}


def queue(book, side) -> list[tuple[str, int, int]]:
    return [(o.order_id, o.price, o.remaining) for o in book.resting_orders(side)]


def seed(book, *orders) -> None:
    for order in orders:
        events = book.place(order)
        assert isinstance(events[-1], Rested), events


# ---- resting and the L2 view --------------------------------------------------------


def test_limit_order_rests_when_nothing_crosses(book):
    events = book.place(limit("b1", "alice", BUY, 100, 5))
    assert events == [Accepted("b1", "alice", BUY, 5, 100), Rested("b1", "alice", BUY, 100, 5)]
    assert book.best_bid == 100 and book.best_ask is None
    assert book.l2() == ([[100, 5]], [])


def test_l2_aggregates_levels_best_first_and_honours_depth(book):
    seed(book, limit("b1", "a", BUY, 99, 1), limit("b2", "b", BUY, 100, 2), limit("b3", "c", BUY, 100, 3),
         limit("a1", "a", SELL, 103, 4), limit("a2", "b", SELL, 101, 5), limit("a3", "c", SELL, 102, 6))
    assert book.l2() == ([[100, 5], [99, 1]], [[101, 5], [102, 6], [103, 4]])
    assert book.l2(depth=1) == ([[100, 5]], [[101, 5]])
    assert (book.best_bid, book.best_ask) == (100, 101)


# ---- priority and trade price ----------------------------------------------------------


def test_better_price_trades_first(book):
    seed(book, limit("a1", "alice", SELL, 102, 1), limit("a2", "bob", SELL, 101, 1))
    events = book.place(limit("b1", "carol", BUY, 102, 1))
    assert trades(events) == [("a2", "b1", 101, 1)]
    assert queue(book, SELL) == [("a1", 102, 1)]


def test_earlier_order_trades_first_at_one_price(book):
    seed(book, limit("a1", "alice", SELL, 101, 2), limit("a2", "bob", SELL, 101, 2))
    events = book.place(limit("b1", "carol", BUY, 101, 3))
    assert trades(events) == [("a1", "b1", 101, 2), ("a2", "b1", 101, 1)]
    assert queue(book, SELL) == [("a2", 101, 1)]


def test_trade_is_at_the_resting_price_for_both_sides(book):
    seed(book, limit("a1", "alice", SELL, 100, 1), limit("b1", "bob", BUY, 90, 1))
    assert trades(book.place(limit("b2", "carol", BUY, 105, 1))) == [("a1", "b2", 100, 1)]
    assert trades(book.place(limit("a2", "carol", SELL, 80, 1))) == [("b1", "a2", 90, 1)]


def test_full_event_sequence_of_a_sweep(book):
    seed(book, limit("a1", "alice", SELL, 100, 2), limit("a2", "bob", SELL, 101, 2))
    events = book.place(limit("b1", "carol", BUY, 101, 5))
    assert events == [
        Accepted("b1", "carol", BUY, 5, 101),
        Trade("a1", "b1", "alice", "carol", BUY, 100, 2, maker_remaining=0, taker_remaining=3),
        Done("a1", "alice", Status.FILLED, "filled", 0),
        Trade("a2", "b1", "bob", "carol", BUY, 101, 2, maker_remaining=0, taker_remaining=1),
        Done("a2", "bob", Status.FILLED, "filled", 0),
        Rested("b1", "carol", BUY, 101, 1),
    ]
    assert book.l2() == ([[101, 1]], [])


def test_partial_fill_of_the_maker_keeps_it_first(book):
    seed(book, limit("a1", "alice", SELL, 100, 5), limit("a2", "bob", SELL, 100, 5))
    events = book.place(limit("b1", "carol", BUY, 100, 2))
    assert events[-1] == Done("b1", "carol", Status.FILLED, "filled", 0)
    assert trades(events) == [("a1", "b1", 100, 2)]
    assert queue(book, SELL) == [("a1", 100, 3), ("a2", 100, 5)]


def test_limit_does_not_trade_through_its_price(book):
    seed(book, limit("a1", "alice", SELL, 101, 5))
    events = book.place(limit("b1", "bob", BUY, 100, 5))
    assert trades(events) == []
    assert book.l2() == ([[100, 5]], [[101, 5]])


# ---- market orders -------------------------------------------------------------------


def test_market_order_sweeps_and_cancels_its_remainder(book):
    seed(book, limit("a1", "alice", SELL, 100, 1), limit("a2", "alice", SELL, 150, 1))
    events = book.place(market("m1", "bob", BUY, 5))
    assert trades(events) == [("a1", "m1", 100, 1), ("a2", "m1", 150, 1)]
    assert events[0] == Accepted("m1", "bob", BUY, 5, None)
    assert events[-1] == Done("m1", "bob", Status.CANCELED, "market_remainder", 3)
    assert book.l2() == ([], [])


def test_market_order_on_an_empty_side_is_canceled(book):
    events = book.place(market("m1", "bob", SELL, 5))
    assert events == [Accepted("m1", "bob", SELL, 5, None), Done("m1", "bob", Status.CANCELED, "market_remainder", 5)]


def test_market_protection_price_is_a_collar(book):
    seed(book, limit("b1", "alice", BUY, 100, 1), limit("b2", "alice", BUY, 95, 1), limit("b3", "alice", BUY, 90, 1))
    events = book.place(market("m1", "bob", SELL, 5, protection_price=95))
    assert trades(events) == [("b1", "m1", 100, 1), ("b2", "m1", 95, 1)]
    assert done(events)["m1"] == (Status.CANCELED, "market_remainder", 3)
    assert queue(book, BUY) == [("b3", 90, 1)]


def test_market_order_fully_filled_is_filled(book):
    seed(book, limit("a1", "alice", SELL, 100, 3))
    events = book.place(market("m1", "bob", BUY, 3, protection_price=110))
    assert done(events)["m1"] == (Status.FILLED, "filled", 0)


# ---- time in force -----------------------------------------------------------------------


def test_ioc_trades_what_it_can_and_never_rests(book):
    seed(book, limit("a1", "alice", SELL, 100, 2))
    events = book.place(limit("b1", "bob", BUY, 100, 5, time_in_force=IOC))
    assert trades(events) == [("a1", "b1", 100, 2)]
    assert events[-1] == Done("b1", "bob", Status.CANCELED, "ioc_remainder", 3)
    assert book.l2() == ([], [])


def test_ioc_that_does_not_cross_is_canceled_whole(book):
    seed(book, limit("a1", "alice", SELL, 101, 2))
    events = book.place(limit("b1", "bob", BUY, 100, 5, time_in_force=IOC))
    assert events == [Accepted("b1", "bob", BUY, 5, 100), Done("b1", "bob", Status.CANCELED, "ioc_remainder", 5)]


def test_fok_not_fillable_trades_nothing(book):
    seed(book, limit("a1", "alice", SELL, 100, 2), limit("a2", "bob", SELL, 101, 2), limit("a3", "bob", SELL, 102, 9))
    events = book.place(limit("b1", "carol", BUY, 101, 5, time_in_force=FOK))
    assert events == [Accepted("b1", "carol", BUY, 5, 101),
                      Done("b1", "carol", Status.CANCELED, "fok_not_fillable", 5)]
    assert book.l2() == ([], [[100, 2], [101, 2], [102, 9]])


def test_fok_fillable_across_levels_fills_completely(book):
    seed(book, limit("a1", "alice", SELL, 100, 2), limit("a2", "bob", SELL, 101, 3))
    events = book.place(limit("b1", "carol", BUY, 101, 5, time_in_force=FOK))
    assert trades(events) == [("a1", "b1", 100, 2), ("a2", "b1", 101, 3)]
    assert events[-1] == Done("b1", "carol", Status.FILLED, "filled", 0)
    assert book.l2() == ([], [])


def test_fok_market_with_collar(book):
    seed(book, limit("a1", "alice", SELL, 100, 2), limit("a2", "bob", SELL, 120, 3))
    events = book.place(market("m1", "carol", BUY, 3, protection_price=110, time_in_force=FOK))
    assert done(events)["m1"] == (Status.CANCELED, "fok_not_fillable", 3)
    events = book.place(market("m2", "carol", BUY, 3, protection_price=120, time_in_force=FOK))
    assert done(events)["m2"] == (Status.FILLED, "filled", 0)


def test_fok_skips_own_orders_under_cancel_resting(book):
    seed(book, limit("a1", "carol", SELL, 100, 4), limit("a2", "bob", SELL, 100, 3))
    events = book.place(limit("b1", "carol", BUY, 100, 3, time_in_force=FOK, self_trade=SelfTrade.CANCEL_RESTING))
    assert events == [
        Accepted("b1", "carol", BUY, 3, 100),
        Done("a1", "carol", Status.CANCELED, "self_trade", 4),
        Trade("a2", "b1", "bob", "carol", BUY, 100, 3, maker_remaining=0, taker_remaining=0),
        Done("a2", "bob", Status.FILLED, "filled", 0),
        Done("b1", "carol", Status.FILLED, "filled", 0),
    ]


def test_fok_own_orders_do_not_count_as_fillable(book):
    seed(book, limit("a1", "carol", SELL, 100, 4), limit("a2", "bob", SELL, 100, 2))
    events = book.place(limit("b1", "carol", BUY, 100, 3, time_in_force=FOK))
    assert done(events) == {"b1": (Status.CANCELED, "fok_not_fillable", 3)}
    assert queue(book, SELL) == [("a1", 100, 4), ("a2", 100, 2)]  # nothing canceled either


@pytest.mark.parametrize("mode", [SelfTrade.CANCEL_TAKER, SelfTrade.CANCEL_BOTH])
def test_fok_fillable_stops_at_own_order_under_cancel_taker_or_both(book, mode):
    seed(book, limit("a1", "bob", SELL, 100, 2), limit("a2", "carol", SELL, 100, 4), limit("a3", "bob", SELL, 100, 5))
    events = book.place(limit("b1", "carol", BUY, 100, 3, time_in_force=FOK, self_trade=mode))
    assert done(events) == {"b1": (Status.CANCELED, "fok_not_fillable", 3)}
    events = book.place(limit("b2", "carol", BUY, 100, 2, time_in_force=FOK, self_trade=mode))
    assert trades(events) == [("a1", "b2", 100, 2)]
    assert queue(book, SELL) == [("a2", 100, 4), ("a3", 100, 5)]


# ---- post-only -------------------------------------------------------------------------------


def test_post_only_that_would_take_is_rejected(book):
    seed(book, limit("a1", "alice", SELL, 100, 2))
    events = book.place(limit("b1", "bob", BUY, 100, 5, post_only=True))
    assert events == [Accepted("b1", "bob", BUY, 5, 100),
                      Done("b1", "bob", Status.REJECTED, "post_only_would_take", 5)]
    assert book.l2() == ([], [[100, 2]])


def test_post_only_that_does_not_cross_rests(book):
    seed(book, limit("a1", "alice", SELL, 101, 2))
    events = book.place(limit("b1", "bob", BUY, 100, 5, post_only=True))
    assert events[-1] == Rested("b1", "bob", BUY, 100, 5)


def test_post_only_is_rejected_even_against_own_order(book):
    seed(book, limit("a1", "bob", SELL, 100, 2))
    events = book.place(limit("b1", "bob", BUY, 100, 5, post_only=True))
    assert done(events) == {"b1": (Status.REJECTED, "post_only_would_take", 5)}
    assert queue(book, SELL) == [("a1", 100, 2)]


# ---- self-trade prevention -------------------------------------------------------------------


def test_cancel_resting_cancels_own_order_and_keeps_matching(book):
    seed(book, limit("a1", "bob", SELL, 100, 2), limit("a2", "alice", SELL, 100, 2), limit("a3", "bob", SELL, 101, 1))
    events = book.place(limit("b1", "bob", BUY, 101, 4, self_trade=SelfTrade.CANCEL_RESTING))
    assert events == [
        Accepted("b1", "bob", BUY, 4, 101),
        Done("a1", "bob", Status.CANCELED, "self_trade", 2),
        Trade("a2", "b1", "alice", "bob", BUY, 100, 2, maker_remaining=0, taker_remaining=2),
        Done("a2", "alice", Status.FILLED, "filled", 0),
        Done("a3", "bob", Status.CANCELED, "self_trade", 1),
        Rested("b1", "bob", BUY, 101, 2),
    ]
    assert book.l2() == ([[101, 2]], [])


def test_cancel_taker_keeps_own_resting_order(book):
    seed(book, limit("a1", "alice", SELL, 100, 1), limit("a2", "bob", SELL, 100, 2), limit("a3", "alice", SELL, 100, 2))
    events = book.place(limit("b1", "bob", BUY, 100, 4, self_trade=SelfTrade.CANCEL_TAKER))
    assert events == [
        Accepted("b1", "bob", BUY, 4, 100),
        Trade("a1", "b1", "alice", "bob", BUY, 100, 1, maker_remaining=0, taker_remaining=3),
        Done("a1", "alice", Status.FILLED, "filled", 0),
        Done("b1", "bob", Status.CANCELED, "self_trade", 3),
    ]
    assert queue(book, SELL) == [("a2", 100, 2), ("a3", 100, 2)]


def test_cancel_both_cancels_both(book):
    seed(book, limit("a1", "bob", SELL, 100, 2), limit("a2", "alice", SELL, 100, 2))
    events = book.place(limit("b1", "bob", BUY, 100, 4, self_trade=SelfTrade.CANCEL_BOTH))
    assert events == [
        Accepted("b1", "bob", BUY, 4, 100),
        Done("a1", "bob", Status.CANCELED, "self_trade", 2),
        Done("b1", "bob", Status.CANCELED, "self_trade", 4),
    ]
    assert queue(book, SELL) == [("a2", 100, 2)]


def test_own_order_beyond_the_limit_is_untouched(book):
    seed(book, limit("a1", "alice", SELL, 100, 1), limit("a2", "bob", SELL, 102, 1))
    events = book.place(limit("b1", "bob", BUY, 101, 2, self_trade=SelfTrade.CANCEL_BOTH))
    assert trades(events) == [("a1", "b1", 100, 1)]
    assert events[-1] == Rested("b1", "bob", BUY, 101, 1)
    assert queue(book, SELL) == [("a2", 102, 1)]


def test_market_order_self_trade(book):
    seed(book, limit("b1", "bob", BUY, 100, 2))
    events = book.place(market("m1", "bob", SELL, 2, self_trade=SelfTrade.CANCEL_TAKER))
    assert done(events) == {"m1": (Status.CANCELED, "self_trade", 2)}
    assert queue(book, BUY) == [("b1", 100, 2)]


# ---- cancel -----------------------------------------------------------------------------------


def test_cancel_own_resting_order_reports_its_unfilled_quantity(book):
    seed(book, limit("a1", "alice", SELL, 100, 5))
    book.place(limit("b1", "bob", BUY, 100, 2))
    assert book.cancel(CancelOrder("a1", "alice")) == [Done("a1", "alice", Status.CANCELED, "canceled", 3)]
    assert book.l2() == ([], [])


def test_cancel_unknown_twice_and_foreign(book):
    seed(book, limit("a1", "alice", SELL, 100, 5))
    assert book.cancel(CancelOrder("nope", "alice")) == [CommandRejected("nope", "alice", "not_open")]
    assert book.cancel(CancelOrder("a1", "bob")) == [CommandRejected("a1", "bob", "not_found")]
    assert book.l2() == ([], [[100, 5]])
    book.cancel(CancelOrder("a1", "alice"))
    assert book.cancel(CancelOrder("a1", "alice")) == [CommandRejected("a1", "alice", "not_open")]


def test_cancel_of_a_filled_order_is_not_open(book):
    seed(book, limit("a1", "alice", SELL, 100, 1))
    book.place(limit("b1", "bob", BUY, 100, 1))
    assert book.apply(CancelOrder("a1", "alice")) == [CommandRejected("a1", "alice", "not_open")]


def test_cancel_keeps_the_level_of_others(book):
    seed(book, limit("a1", "alice", SELL, 100, 1), limit("a2", "bob", SELL, 100, 2), limit("a3", "carol", SELL, 100, 3))
    book.cancel(CancelOrder("a2", "bob"))
    assert queue(book, SELL) == [("a1", 100, 1), ("a3", 100, 3)]
    assert book.l2() == ([], [[100, 4]])


# ---- amend ------------------------------------------------------------------------------------


def test_amend_down_keeps_time_priority(book):
    seed(book, limit("a1", "alice", SELL, 100, 5), limit("a2", "bob", SELL, 100, 5))
    assert book.amend(AmendOrder("a1", "alice", 2)) == [Amended("a1", "alice", 2, 2)]
    events = book.place(limit("b1", "carol", BUY, 100, 3))
    assert trades(events) == [("a1", "b1", 100, 2), ("a2", "b1", 100, 1)]


def test_amend_of_a_partly_filled_order(book):
    seed(book, limit("a1", "alice", SELL, 100, 5))
    book.place(limit("b1", "bob", BUY, 100, 2))
    assert book.amend(AmendOrder("a1", "alice", 4)) == [Amended("a1", "alice", 4, 2)]
    assert book.l2() == ([], [[100, 2]])
    # Cancel then releases exactly what can no longer trade.
    assert book.cancel(CancelOrder("a1", "alice")) == [Done("a1", "alice", Status.CANCELED, "canceled", 2)]


@pytest.mark.parametrize("new_quantity", [0, 1, 2, 5, 6])
def test_amend_must_stay_above_filled_and_below_quantity(book, new_quantity):
    seed(book, limit("a1", "alice", SELL, 100, 5))
    book.place(limit("b1", "bob", BUY, 100, 2))
    assert book.amend(AmendOrder("a1", "alice", new_quantity)) == [CommandRejected("a1", "alice", "invalid_amend")]
    assert book.l2() == ([], [[100, 3]])


def test_amend_unknown_and_foreign(book):
    seed(book, limit("a1", "alice", SELL, 100, 5))
    assert book.apply(AmendOrder("zz", "alice", 1)) == [CommandRejected("zz", "alice", "not_open")]
    assert book.apply(AmendOrder("a1", "bob", 1)) == [CommandRejected("a1", "bob", "not_found")]
