"""Check a symbol's journal against a sequential replay.

The journal names every command's effect, so the commands can be rebuilt from
it in the order the book applied them. Replaying them one by one through a
fresh pure ``OrderBook`` must give back exactly the journal's events: whatever
matchers wrote the journal, concurrently or with crashes and hand-overs, it is
what one sequential matcher would have written for the same arrival order.
"""
from __future__ import annotations

from dataclasses import replace
from enum import Enum

from exchange import journal, keys
from exchange.journal import DoneReason
from orderbook.book import OrderBook
from orderbook.model import (
    AmendOrder,
    CancelOrder,
    CommandRejected,
    Halted,
    NewOrder,
    OrderType,
    Resumed,
    SelfTrade,
    Side,
    TimeInForce,
    Voided,
)


def event_to_dict(event) -> dict:
    """A pure book event (orderbook.model) as a plain dict, enums as their values."""
    values = {name: getattr(event, name) for name in event.__dataclass_fields__}
    return {name: value.value if isinstance(value, Enum) else value for name, value in values.items()}


JOURNAL_ONLY = ("sequence", "epoch", "symbol", "time", "order", "trade_id", "buy_order_id", "sell_order_id",
                "buyer_id", "seller_id", "buyer_fee", "seller_fee", "buyer_hold_used", "released", "side",
                "book_protection_price")


# Orders the matcher rejects whole by its own rules (the pure book knows none of them).
MATCHER_REFUSALS = ("too_many_open_orders", "price_out_of_band", "symbol_halted")


def matcher_event(event: dict):
    """The event of a command the matcher decides alone, as it was journaled."""
    kind = event["type"]
    if kind == "voided":
        return Voided(event["order_id"], event["user_id"], event["asset"])
    if kind == "halted":
        return Halted(event["until_ms"], event["reason"])
    if kind == "resumed":
        return Resumed(event["reason"])
    return CommandRejected(event["order_id"], event["user_id"], event["code"])


def read_journal(client, symbol: str) -> list[dict]:
    """The journal as plain dicts, each decoded through the journal's contract (exchange.journal)."""
    return [journal.as_document(event) for _id, event in journal.read_entries(client.xrange(keys.events(symbol)))]


def commands_from_journal(events: list[dict]) -> list[tuple[int, object]]:
    """[(sequence of the command's first event, command)] in the order they were applied."""
    commands = []
    for event in events:
        kind = event["type"]
        if kind == "accepted":
            o = event["order"]
            commands.append((event["sequence"], NewOrder(
                order_id=event["order_id"], user_id=event["user_id"], side=Side(o["side"]),
                quantity=o["quantity"], type=OrderType(o["type"]), price=o["price"],
                # The collar the book traded with (the band may have pulled it in from the order's).
                protection_price=o.get("book_protection_price", o["protection_price"]),
                time_in_force=TimeInForce(o["time_in_force"]),
                post_only=o["post_only"], self_trade=SelfTrade(o["self_trade"]), stop_price=o.get("stop_price"))))
        elif kind == "done" and event["reason"] == "canceled":
            commands.append((event["sequence"], CancelOrder(event["order_id"], event["user_id"])))
        elif kind == "amended":
            commands.append((event["sequence"], AmendOrder(event["order_id"], event["user_id"], event["quantity"])))
        elif kind in ("voided", "halted", "resumed"):
            commands.append((event["sequence"], None))  # decided by the matcher, not the book
        elif kind == "command_rejected":
            if event["code"] in ("invalid_command", "order_voided", "order_expired"):
                commands.append((event["sequence"], None))  # refused before it reached the book
            elif event["code"] == "invalid_amend":
                commands.append((event["sequence"], AmendOrder(event["order_id"], event["user_id"], 0)))
            else:
                commands.append((event["sequence"], CancelOrder(event["order_id"], event["user_id"])))
    return commands


def assert_journal_is_sequential(client, symbol: str) -> list[dict]:
    """Gap-free sequences, and a sequential replay reproduces the journal event for event."""
    events = read_journal(client, symbol)
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), "sequence gap or duplicate"
    book = OrderBook()
    replayed = []
    admit = triggered_admission(events)
    for sequence, command in commands_from_journal(events):
        if command is None:
            replayed.append(matcher_event(events[sequence - 1]))
        elif isinstance(command, NewOrder):
            after = events[sequence] if sequence < len(events) else {}
            if after.get("type") == "done" and after.get("reason") in MATCHER_REFUSALS:
                replayed += book.reject(command, after["reason"], priority=sequence)
            else:
                replayed += book.place(command, priority=sequence, admit=admit)
        else:
            replayed += book.apply(command)
        book.validate()
    expected = [{k: v for k, v in e.items() if k not in JOURNAL_ONLY} for e in events]
    got = [{k: v for k, v in event_to_dict(e).items() if k not in JOURNAL_ONLY} for e in replayed]
    assert got == expected
    accepted = [e["order_id"] for e in events if e["type"] == "accepted"]
    assert len(accepted) == len(set(accepted)), "an order was accepted twice"
    bids, asks = book.l2()
    stored = client.zcard(keys.bids(symbol)), client.zcard(keys.asks(symbol))
    assert stored == (sum(1 for _ in book.resting_orders(Side.BUY)), sum(1 for _ in book.resting_orders(Side.SELL)))
    return events


def triggered_admission(events: list[dict]):
    """What the matcher's band made of each stop as it triggered, read back from the journal: the
    refusal that follows its triggered event, or the collar that event says it traded with."""
    def admit(order: NewOrder):
        triggered = next(e for e in events if e["type"] == "triggered" and e["order_id"] == order.order_id)
        after = events[triggered["sequence"]] if triggered["sequence"] < len(events) else {}
        if after.get("type") == "done" and after.get("reason") in MATCHER_REFUSALS:
            return DoneReason(after["reason"])
        if triggered["book_protection_price"] is not None:
            return replace(order, protection_price=triggered["book_protection_price"])
        return order
    return admit


def journaled(event, sequence: int, *, epoch: int = 7, symbol: str = "KRYP", time: int = 0) -> journal.JournalEvent:
    """A pure book event as a journal event, for code that folds events (replay, levels).

    The fields only the matcher knows (fees, holds, an order's terms) are zeros and
    placeholders: a fold of the book reads none of them."""
    data = {**event_to_dict(event), "sequence": sequence, "epoch": epoch, "symbol": symbol, "time": time}
    if data["type"] == "accepted":
        data["order"] = {"side": data["side"], "type": "limit", "price": data["price"], "protection_price": None,
                         "quantity": data["quantity"], "time_in_force": "GTC", "post_only": False,
                         "self_trade": "cancel_resting", "client_order_id": None, "maker_fee_bps": 0,
                         "taker_fee_bps": 0, "hold": 0, "stop_price": None}
    elif data["type"] == "trade":
        taker = (data["taker_order_id"], data["taker_user_id"])
        maker = (data["maker_order_id"], data["maker_user_id"])
        buyer, seller = (taker, maker) if data["taker_side"] == "buy" else (maker, taker)
        data.update(trade_id=f"{symbol}-{epoch}-{sequence}", buy_order_id=buyer[0], buyer_id=buyer[1],
                    sell_order_id=seller[0], seller_id=seller[1], buyer_fee=0, seller_fee=0, buyer_hold_used=0)
    elif data["type"] == "triggered":
        data["book_protection_price"] = None
    elif data["type"] in ("amended", "done"):
        data.update(side="buy", released=0)  # unknown to the pure book; folds do not read it
    return journal.from_document(data)
