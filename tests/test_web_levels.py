"""The web tier's pure parts: the L2 book kept from the journal, payloads, subscriptions."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange import journal
from exchange.journal import DoneReason, Side, Status
from orderbook.book import OrderBook
from orderbook.model import Accepted, Amended, CommandRejected, Done, NewOrder, Parked, Rested, Trade, Triggered
from tests.command_streams import build_commands, command_specs
from web import messages
from web.levels import LevelBook, RestingOrder, changes_between, merge
from web.subscriptions import SubscriptionError, parse

ROOT = Path(__file__).resolve().parent.parent


def naive_levels(book: OrderBook, side: Side) -> dict[int, int]:
    """Sum the resting orders' remaining quantity by price, the slow obvious way."""
    totals: dict[int, int] = {}
    for order in book.resting_orders(side):
        totals[order.price] = totals.get(order.price, 0) + order.remaining
    return totals


STAMP = {"symbol": "KRYP", "epoch": 1, "time": 1700000000000}
# What a journal event carries beyond the book's event (the matcher adds it); the levels read none of it.
JOURNAL_ONLY = {"side": Side.BUY, "order": {}, "trade_id": "KRYP-1", "buy_order_id": "", "sell_order_id": "",
                "buyer_id": "", "seller_id": "", "buyer_fee": 0, "seller_fee": 0, "buyer_hold_used": 0, "released": 0,
                "book_protection_price": None}
JOURNAL_CLASSES = {Accepted: journal.AcceptedEvent, Trade: journal.TradeEvent, Rested: journal.RestedEvent,
                   Parked: journal.ParkedEvent, Triggered: journal.TriggeredEvent,
                   Amended: journal.AmendedEvent, Done: journal.DoneEvent, CommandRejected: journal.CommandRejectedEvent}


def journaled(event, sequence: int) -> journal.JournalEvent:
    """A pure engine's event as the journal would hold it (placeholders for what only the matcher knows)."""
    cls = JOURNAL_CLASSES[type(event)]
    names = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in (*STAMP, "sequence")]
    return cls(**STAMP, sequence=sequence, **{name: getattr(event, name, JOURNAL_ONLY.get(name)) for name in names})


def journal_of(commands):
    """Run commands through the pure matching engine, yielding (its book now, the events) per command."""
    book = OrderBook()
    for sequence, command in enumerate(commands, start=1):
        events = book.place(command, priority=sequence) if isinstance(command, NewOrder) else book.apply(command)
        yield book, [journaled(e, sequence) for e in events]


def trade(**changed) -> journal.TradeEvent:
    """A trade: taker t (u2) buys 3 at 10.05 from maker m (u1), paying a fee of 3 cents."""
    values = {"symbol": "KRYP", "epoch": 1, "sequence": 12, "time": 1700000000123, "trade_id": "KRYP-12",
              "price": 1005, "quantity": 3, "taker_side": Side.BUY, "maker_order_id": "m", "taker_order_id": "t",
              "maker_user_id": "u1", "taker_user_id": "u2", "maker_remaining": 2, "taker_remaining": 0,
              "buy_order_id": "t", "sell_order_id": "m", "buyer_id": "u2", "seller_id": "u1", "buyer_fee": 3,
              "seller_fee": 0, "buyer_hold_used": 3018}
    return journal.TradeEvent(**{**values, **changed})


def done(order_id: str) -> journal.DoneEvent:
    return journal.DoneEvent(**STAMP, sequence=11, order_id=order_id, user_id="u1", side=Side.BUY,
                             status=Status.CANCELED, reason=DoneReason.CANCELED, remaining=0, released=0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_specs)
def test_levels_follow_the_matching_engine_exactly(specs):
    levels = LevelBook()
    shown = {"buy": {}, "sell": {}}  # what a client holds after applying every change
    for book, events in journal_of(build_commands(specs)):
        changes = []
        for event in events:
            changes += levels.apply(event)
        for side, price, total in merge(changes):
            if total:
                shown[side][price] = total
            else:
                shown[side].pop(price, None)
        assert dict(levels.bids()) == naive_levels(book, Side.BUY) == shown["buy"]
        assert dict(levels.asks()) == naive_levels(book, Side.SELL) == shown["sell"]
        assert set(levels.resting) == {o.order_id for side in Side for o in book.resting_orders(side)}


def test_levels_sorted_best_first_and_a_filled_maker_leaves():
    levels = LevelBook(7, {"a": RestingOrder("buy", 100, 5), "b": RestingOrder("buy", 101, 2),
                           "c": RestingOrder("sell", 103, 4), "d": RestingOrder("sell", 102, 1),
                           "e": RestingOrder("buy", 100, 3)})
    assert levels.bids() == [(101, 2), (100, 8)]
    assert levels.asks() == [(102, 1), (103, 4)]
    assert levels.apply(trade(maker_order_id="a", maker_remaining=0)) == [("buy", 100, 3)]
    assert levels.apply(done("a")) == []  # already gone with its last fill
    assert levels.apply(journal.AmendedEvent(**STAMP, sequence=10, order_id="e", user_id="u1", side=Side.BUY,
                                             quantity=1, remaining=1, released=0)) == [("buy", 100, 1)]
    assert levels.apply(done("e")) == [("buy", 100, 0)]
    assert levels.bids() == [(101, 2)]
    assert levels.apply(journal.AcceptedEvent(**STAMP, sequence=12, order_id="x", user_id="u1", side=Side.SELL,
                                              quantity=1, price=105, order={})) == []


def test_changes_between_turn_the_levels_shown_into_another_book():
    shown = LevelBook(1, {"a": RestingOrder("buy", 100, 5), "b": RestingOrder("sell", 105, 2),
                          "e": RestingOrder("sell", 107, 1)}).totals
    new = LevelBook(9, {"c": RestingOrder("buy", 100, 3), "d": RestingOrder("buy", 99, 1),
                        "b": RestingOrder("sell", 105, 2)})
    assert changes_between(shown, new) == [("buy", 99, 1), ("buy", 100, 3), ("sell", 107, 0)]


def test_merge_keeps_the_last_total_of_each_level():
    assert merge([("buy", 100, 5), ("sell", 101, 2), ("buy", 100, 0)]) == [("buy", 100, 0), ("sell", 101, 2)]


TRADE = trade()


def test_trade_payload_has_the_rest_shape_plus_symbol():
    expected = {"symbol": "KRYP", "trade_id": "KRYP-12", "price": "10.05", "quantity": 3, "time": 1700000000123,
                "taker_side": "buy", "sequence": 12}
    assert messages.trade(TRADE) == expected
    assert json.dumps(messages.trade(TRADE)) == json.dumps(expected)  # the enum goes out as its value


def test_a_trade_is_a_fill_for_each_side_with_its_own_fee():
    (maker_user, maker), (taker_user, taker) = messages.order_events(TRADE)
    assert (maker_user, maker["order_id"], maker["side"], maker["liquidity"], maker["fee"],
            maker["remaining_quantity"]) == ("u1", "m", "sell", "maker", "0.00", 2)
    assert (taker_user, taker["order_id"], taker["side"], taker["liquidity"], taker["fee"],
            taker["remaining_quantity"]) == ("u2", "t", "buy", "taker", "0.03", 0)
    assert maker["type"] == taker["type"] == "fill" and maker["price"] == "10.05"


def test_order_events_are_built_only_for_the_users_wanted():
    """A replica builds the private events of the users connected to it, and no others."""
    (maker_user, maker), (_taker_user, taker) = messages.order_events(TRADE)
    assert messages.order_events(TRADE, lambda user: user == "u1") == [(maker_user, maker)]
    assert messages.order_events(TRADE, lambda user: user == "u2") == [("u2", taker)]
    assert messages.order_events(TRADE, lambda user: False) == []
    canceled = done("x")
    assert messages.order_events(canceled, lambda user: user == "u1") == messages.order_events(canceled)
    assert messages.order_events(canceled, lambda user: user == "u2") == []


def test_a_stop_is_parked_then_triggered_in_its_owners_order_events():
    stamp = {**STAMP, "order_id": "s", "user_id": "u3", "side": Side.SELL, "stop_price": 995}
    ((parked_user, parked),) = messages.order_events(journal.ParkedEvent(**stamp, sequence=20))
    ((_user, triggered),) = messages.order_events(journal.TriggeredEvent(
        **stamp, sequence=31, trade_price=990, book_protection_price=None))
    assert parked_user == "u3"
    assert {k: parked[k] for k in ("type", "order_id", "side", "stop_price", "status", "sequence")} == {
        "type": "parked", "order_id": "s", "side": "sell", "stop_price": "9.95", "status": "untriggered",
        "sequence": 20}
    assert (triggered["type"], triggered["status"], triggered["sequence"]) == ("triggered", "new", 31)


def test_book_payloads_speak_decimal_prices():
    book = LevelBook(4, {"a": RestingOrder("buy", 999, 5), "b": RestingOrder("sell", 1001, 2)})
    assert messages.book_snapshot("KRYP", book) == {"symbol": "KRYP", "sequence": 4, "bids": [["9.99", 5]],
                                                    "asks": [["10.01", 2]]}
    assert messages.book_update("KRYP", 5, 4, [("buy", 999, 0)]) == {
        "symbol": "KRYP", "sequence": 5, "prev_sequence": 4, "changes": [["buy", "9.99", 0]]}


SYMBOLS = ("KRYP", "ADAM")


def test_subscribe_payload_defaults_to_every_channel():
    assert parse({"symbol": "kryp"}, SYMBOLS) == ("KRYP", ("book", "trades", "ticker", "candles"))
    assert parse({"symbol": "ADAM", "channels": ["trades", "trades"]}, SYMBOLS) == ("ADAM", ("trades",))


@pytest.mark.parametrize("payload, code", [
    ("KRYP", "invalid_request"), (None, "invalid_request"), ({"symbol": 5}, "invalid_request"),
    ({"symbol": "NOPE"}, "unknown_symbol"), ({"symbol": "KRYP", "channels": "book"}, "invalid_request"),
    ({"symbol": "KRYP", "channels": []}, "invalid_request"), ({"symbol": "KRYP", "channels": [1]}, "invalid_request"),
    ({"symbol": "KRYP", "channels": ["book", "gossip"]}, "unknown_channel"),
])
def test_bad_subscribe_payloads_name_what_is_wrong(payload, code):
    with pytest.raises(SubscriptionError) as raised:
        parse(payload, SYMBOLS)
    assert raised.value.code == code and raised.value.message


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.text()),
                 st.dictionaries(st.text(), st.one_of(st.none(), st.integers(), st.text(), st.lists(st.text())))))
def test_any_payload_parses_or_raises_a_subscription_error(payload):
    try:
        symbol, channels = parse(payload, SYMBOLS)
    except SubscriptionError as error:
        assert error.code in ("invalid_request", "unknown_symbol", "unknown_channel")
    else:
        assert symbol in SYMBOLS and channels


def test_the_web_tier_never_imports_pymongo():
    """eventlet patches the web process; pymongo must never run under it."""
    code = "import sys, web.server; sys.exit('pymongo' in sys.modules or 'eventlet' not in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_subscribe_throttle_counts_each_connection_apart():
    from web.throttle import SubscribeThrottle

    throttle = SubscribeThrottle("3 per 5 seconds")
    assert [throttle.allow("flooder") for _ in range(5)] == [True, True, True, False, False]
    assert throttle.allow("neighbour")  # another connection has its own window
    assert throttle.error()["code"] == "rate_limited" and "3 per 5 seconds" in throttle.error()["message"]
