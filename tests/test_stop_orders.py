"""Stop and stop-limit orders through the API, the matcher and settlement, on real Redis and MongoDB.

A buy stop triggers on a trade at or above its stop price, a sell stop on one at or below
it; the matcher triggers it at the end of the command whose trade crossed it, in journal
order, and it enters the book then: a stop as a market order, a stop-limit as a limit order.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from tests.journal import assert_journal_is_sequential, read_journal

ORDERS = "/api/v1/orders"


@pytest.fixture
def settings(settings):
    return replace(settings, price_band_bps=None, halt_move_bps=None)  # the stops alone


def place(client, headers, side, price=None, quantity=1, order_type="limit", **more):
    body = {"symbol": "KRYP", "side": side, "type": order_type, "quantity": quantity, **more}
    if price is not None:
        body["price"] = price
    return client.post(ORDERS, json=body, headers=headers)


def trade_at(client, buyer, seller, price: str, quantity: int = 1) -> None:
    assert place(client, seller, "sell", price, quantity).status_code == 201
    assert place(client, buyer, "buy", price, quantity).json["status"] == "filled"


def order(client, headers, order_id) -> dict:
    return client.get(f"{ORDERS}/{order_id}", headers=headers).json


def events_of(redis_client, order_id) -> list[dict]:
    return [e for e in read_journal(redis_client, "KRYP")
            if order_id in (e.get("order_id"), e.get("taker_order_id"), e.get("maker_order_id"))]


def test_a_stop_triggers_at_the_trade_that_crosses_it_and_never_before(client, register, redis_client, settle,
                                                                        audit):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    trade_at(client, carol, bob, "10.00")
    stop = place(client, alice, "buy", quantity=2, order_type="stop", stop_price="10.20")
    assert stop.status_code == 201, stop.json
    assert (stop.json["status"], stop.json["stop_price"], stop.json["protection_price"]) == \
        ("untriggered", "10.20", "11.22")  # its collar: MARKET_COLLAR_BPS (10 %) over the stop price
    stop_id = stop.json["order_id"]
    listed = client.get(f"{ORDERS}?status=open", headers=alice).json["orders"]
    assert [(o["order_id"], o["status"]) for o in listed] == [(stop_id, "untriggered")]

    trade_at(client, carol, bob, "10.19")  # below its stop price: nothing happens
    assert order(client, alice, stop_id)["status"] == "untriggered"
    assert place(client, bob, "sell", "10.40", 5).status_code == 201  # what the stop will buy from

    assert place(client, bob, "sell", "10.20").status_code == 201
    crossing = place(client, carol, "buy", "10.20").json
    assert crossing["status"] == "filled" and [f["price"] for f in crossing["fills"]] == ["10.20"]
    assert "fills" in crossing and len(crossing["fills"]) == 1  # the stop's fills are its own, not carol's

    triggered = order(client, alice, stop_id)
    assert (triggered["status"], triggered["filled_quantity"]) == ("filled", 2)
    assert [f["price"] for f in triggered["fills"]] == ["10.40"]
    kinds = [(e["type"], e.get("taker_order_id")) for e in events_of(redis_client, stop_id)]
    assert kinds == [("accepted", None), ("parked", None), ("triggered", None), ("trade", stop_id), ("done", None)]
    journal = read_journal(redis_client, "KRYP")
    at = next(i for i, e in enumerate(journal) if e["type"] == "triggered")
    # It triggers right after the command whose trade crossed it: carol's order, its trade, both done.
    assert [e["type"] for e in journal[at - 4:at]] == ["accepted", "trade", "done", "done"]
    assert journal[at - 3]["price"] == 1020 and journal[at]["trade_price"] == 1020
    assert_journal_is_sequential(redis_client, "KRYP")  # a sequential replay triggers it at the same sequence
    settle()
    audit()
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["on_hold"] == "0.00"


def test_a_stop_limit_rests_at_its_limit_after_the_trigger(client, register, redis_client, settle, audit):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    trade_at(client, carol, bob, "10.00")
    stop = place(client, alice, "sell", "9.70", 3, order_type="stop_limit", stop_price="9.80").json
    assert (stop["status"], stop["price"], stop["stop_price"]) == ("untriggered", "9.70", "9.80")
    assert client.get("/api/v1/book/KRYP").json["asks"] == []  # parked off the book
    trade_at(client, carol, bob, "9.80")  # at its stop price: it triggers, finds no bid, rests
    rested = order(client, alice, stop["order_id"])
    assert (rested["status"], rested["remaining_quantity"]) == ("new", 3)
    assert client.get("/api/v1/book/KRYP").json["asks"] == [["9.70", 3]]
    journal = read_journal(redis_client, "KRYP")
    triggered = next(e for e in journal if e["type"] == "triggered")
    rested_event = next(e for e in journal if e["type"] == "rested" and e["order_id"] == stop["order_id"])
    assert rested_event["sequence"] == triggered["sequence"] + 1
    # Its time priority is its trigger's: an order resting later at 9.70 comes after it.
    assert place(client, bob, "sell", "9.70").status_code == 201
    bought = place(client, carol, "buy", "9.70", 1).json
    assert bought["fills"][0]["price"] == "9.70" and order(client, alice, stop["order_id"])["filled_quantity"] == 1
    assert_journal_is_sequential(redis_client, "KRYP")
    settle()
    audit()


def test_a_canceled_stop_never_triggers_and_releases_its_hold(client, register, redis_client, settle, audit):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    trade_at(client, carol, bob, "10.00")
    stop = place(client, alice, "buy", "10.60", 2, order_type="stop_limit", stop_price="10.50").json
    settle()
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["on_hold"] == "21.22"  # 2 × $10.60 and the fee reserve
    canceled = client.delete(f"{ORDERS}/{stop['order_id']}", headers=alice)
    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"
    assert client.get(f"{ORDERS}?status=open", headers=alice).json["orders"] == []
    trade_at(client, carol, bob, "10.55")  # would have triggered it
    assert [e["type"] for e in events_of(redis_client, stop["order_id"])] == ["accepted", "parked", "done"]
    assert client.get("/api/v1/book/KRYP").json["bids"] == []
    assert_journal_is_sequential(redis_client, "KRYP")
    settle()
    audit()
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["on_hold"] == "0.00"


def test_cancel_all_and_amend_reach_parked_stops(client, register, settle, audit):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    trade_at(client, carol, bob, "10.00")
    first = place(client, alice, "sell", quantity=4, order_type="stop", stop_price="9.00").json
    place(client, alice, "sell", "8.90", 1, order_type="stop_limit", stop_price="9.10")
    amended = client.patch(f"{ORDERS}/{first['order_id']}", json={"quantity": 2}, headers=alice)
    assert amended.status_code == 200 and (amended.json["quantity"], amended.json["status"]) == (2, "untriggered")
    canceled = client.delete(f"{ORDERS}?symbol=KRYP", headers=alice).json["canceled"]
    assert sorted(o["status"] for o in canceled) == ["canceled", "canceled"]
    settle()
    audit()
    assert client.get("/api/v1/account", headers=alice).json["balances"]["KRYP"]["on_hold"] == 0


def test_a_stop_the_last_trade_already_crossed_is_refused(client, register, settle, audit):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    trade_at(client, carol, bob, "10.00")
    for side, stop_price in (("buy", "10.00"), ("buy", "9.50"), ("sell", "10.00"), ("sell", "10.50")):
        refused = place(client, alice, side, quantity=1, order_type="stop", stop_price=stop_price)
        assert refused.status_code == 422 and refused.json["error"]["code"] == "stop_would_trigger", refused.json
    settle()
    audit()
    balances = client.get("/api/v1/account", headers=alice).json["balances"]
    assert (balances["USD"]["on_hold"], balances["KRYP"]["on_hold"]) == ("0.00", 0)


@pytest.mark.parametrize("body, code", [
    ({"type": "stop"}, "missing_field"),
    ({"type": "stop_limit", "stop_price": "10.00"}, "missing_field"),  # no limit price
    ({"type": "stop", "stop_price": "10.00", "price": "10.00"}, "invalid_price"),
    ({"type": "limit", "price": "10.00", "stop_price": "9.00"}, "invalid_stop_price"),
    ({"type": "market", "stop_price": "9.00"}, "invalid_stop_price"),
    ({"type": "stop", "stop_price": "10.001"}, "invalid_stop_price"),
    ({"type": "stop", "stop_price": "-1.00"}, "invalid_stop_price"),
    ({"type": "stop", "stop_price": "0.00"}, "invalid_stop_price"),
    ({"type": "stop", "stop_price": 10}, "invalid_stop_price"),
    ({"type": "stop_limit", "price": "10.00", "stop_price": "10.00", "post_only": True}, "invalid_post_only"),
])
def test_bad_stop_orders_are_4xx_and_hold_nothing(client, register, body, code):
    alice = register("alice")
    answer = client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "quantity": 1, **body}, headers=alice)
    assert answer.status_code == 400 and answer.json["error"]["code"] == code, answer.json
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["on_hold"] == "0.00"


def test_a_cascade_triggers_each_stop_in_turn_within_one_command(client, register, redis_client, settle, audit):
    alice, bob, carol, dave = register("alice"), register("bob"), register("carol"), register("dave")
    trade_at(client, carol, bob, "10.00")
    first = place(client, alice, "buy", quantity=2, order_type="stop", stop_price="10.20").json
    second = place(client, dave, "buy", quantity=2, order_type="stop", stop_price="10.40").json
    for price, quantity in (("10.20", 1), ("10.40", 2), ("10.60", 2)):
        assert place(client, bob, "sell", price, quantity).status_code == 201
    # One trade at 10.20 triggers the first stop; its buy at 10.40 triggers the second, which buys at 10.60.
    assert place(client, carol, "buy", "10.20").json["status"] == "filled"
    bought = {o["order_id"]: [f["price"] for f in order(client, who, o["order_id"])["fills"]]
              for who, o in ((alice, first), (dave, second))}
    assert bought == {first["order_id"]: ["10.40"], second["order_id"]: ["10.60"]}
    journal = read_journal(redis_client, "KRYP")
    triggers = [e for e in journal if e["type"] == "triggered"]
    assert [(e["order_id"], e["trade_price"]) for e in triggers] == [(first["order_id"], 1020),
                                                                    (second["order_id"], 1040)]
    accepted = [e["sequence"] for e in journal if e["type"] == "accepted"]
    assert accepted[-1] < triggers[0]["sequence"] < triggers[1]["sequence"]  # all in carol's command
    assert_journal_is_sequential(redis_client, "KRYP")
    settle()
    audit()


def test_a_takers_reply_has_the_fill_a_stop_it_triggered_made_against_its_rest(client, register):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    trade_at(client, carol, bob, "10.00")
    stop = place(client, alice, "sell", quantity=5, order_type="stop", stop_price="9.90").json
    assert place(client, bob, "sell", "9.90", 5).status_code == 201
    # Carol takes 5 at 9.90 (that triggers the sell stop) and rests 5; the stop sells into her rest.
    reply = place(client, carol, "buy", "9.90", 10).json
    assert (reply["status"], reply["filled_quantity"]) == ("filled", 10)
    assert [(f["liquidity"], f["quantity"]) for f in reply["fills"]] == [("taker", 5), ("maker", 5)]
    assert order(client, alice, stop["order_id"])["status"] == "filled"
