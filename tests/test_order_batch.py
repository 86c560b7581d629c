"""POST /orders/batch: each order placed as if sent alone, in the order given; one answer per
order; one bad order fails alone; one hold script call for the whole batch."""
from __future__ import annotations

import random

import pytest

from ledger.accounts import Accounts

ORDERS = "/api/v1/orders"
BATCH = "/api/v1/orders/batch"


def batch(client, headers, orders):
    return client.post(BATCH, json={"orders": orders}, headers=headers)


def random_orders(rng: random.Random, symbol: str, count: int) -> list[dict]:
    """Limit orders of every time in force around $10.03 (a market order's collar comes from the
    book as the batch arrives: see orderbook/order_batch.py)."""
    orders = []
    for _ in range(count):
        order = {"symbol": symbol, "side": rng.choice(("buy", "sell")), "quantity": rng.randint(1, 6),
                 "price": f"10.{rng.randint(0, 6):02d}", "time_in_force": rng.choice(("GTC", "GTC", "IOC", "FOK"))}
        order["post_only"] = order["time_in_force"] == "GTC" and rng.random() < 0.2
        orders.append(order)
    return orders


def outcome(order: dict) -> tuple:
    """What an order's answer says, without its ids and times."""
    if "error" in order:
        return ("error", order["error"]["code"])
    return (order["status"], order["filled_quantity"], order["remaining_quantity"],
            [(fill["price"], fill["quantity"], fill["liquidity"]) for fill in order["fills"]])


def book_levels(client, symbol: str) -> tuple:
    book = client.get(f"/api/v1/book/{symbol}?depth=50").json
    return book["bids"], book["asks"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_ends_as_the_same_orders_sent_one_at_a_time(client, register, seed):
    """The same orders against the same resting book: once as a batch on KRYP, once one by
    one on PUPS. Every answer and the book they leave are the same."""
    alice, bob = register("alice"), register("bob")
    rng = random.Random(seed)
    ladder = [(side, f"10.{cents:02d}", rng.randint(1, 4)) for side, cents in
              [("buy", 0), ("buy", 1), ("buy", 2), ("sell", 4), ("sell", 5), ("sell", 6)]]
    for symbol in ("KRYP", "PUPS"):
        for side, price, quantity in ladder:
            placed = client.post(ORDERS, json={"symbol": symbol, "side": side, "price": price, "quantity": quantity},
                                 headers=bob)
            assert placed.status_code == 201, placed.json
    orders = random_orders(rng, "KRYP", 20)
    batched = batch(client, alice, orders)
    assert batched.status_code == 200, batched.json
    one_by_one = [client.post(ORDERS, json={**order, "symbol": "PUPS"}, headers=alice).json for order in orders]
    assert [outcome(order) for order in batched.json["orders"]] == [outcome(order) for order in one_by_one]
    assert book_levels(client, "KRYP") == book_levels(client, "PUPS")
    statuses = {order.get("status") for order in batched.json["orders"]}
    assert {"filled", "new"} <= statuses and statuses & {"canceled", "rejected"}, statuses  # it traded, rested, refused
    assert all(order["symbol"] == "KRYP" for order in batched.json["orders"] if "error" not in order)


def test_one_bad_order_fails_alone_and_holds_nothing(client, register, redis_client, settle, audit):
    alice, bob = register("alice"), register("bob")
    client.post(ORDERS, json={"symbol": "ADAM", "side": "sell", "price": "20.00", "quantity": 5}, headers=bob)
    orders = [
        {"symbol": "ADAM", "side": "buy", "price": "20.00", "quantity": 2},  # fills against bob
        {"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": "two"},  # malformed
        {"symbol": "NOPE", "side": "buy", "price": "1.00", "quantity": 2},  # not listed
        {"symbol": "KRYP", "side": "buy", "price": "9999.00", "quantity": 100},  # more than alice has
        {"symbol": "KRYP", "side": "sell", "type": "market", "quantity": 1},  # nobody to sell to
        "not an order",
        {"symbol": "KRYP", "side": "buy", "price": "5.00", "quantity": 3},  # rests
    ]
    answers = batch(client, alice, orders).json["orders"]
    assert len(answers) == len(orders)
    assert (answers[0]["status"], answers[0]["filled_quantity"]) == ("filled", 2)
    assert [answer["error"]["code"] for answer in answers[1:6]] == [
        "invalid_quantity", "unknown_symbol", "insufficient_funds", "no_liquidity", "invalid_json"]
    assert "orders.1.quantity" in answers[1]["error"]["message"]
    assert (answers[6]["status"], answers[6]["remaining_quantity"]) == ("new", 3)
    open_orders = client.get(f"{ORDERS}?status=open", headers=alice).json["orders"]
    assert [order["order_id"] for order in open_orders] == [answers[6]["order_id"]]
    settle()
    balances = client.get("/api/v1/account", headers=alice).json["balances"]
    assert balances["USD"]["on_hold"] == "15.01"  # the resting order's 3 × $5.00 and its fee reserve only
    assert balances["ADAM"] == {"available": 102, "on_hold": 0}
    audit()


def test_the_envelope_is_checked_whole(client, register):
    alice = register("alice")
    order = {"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": 1}
    for body, code in [({"orders": []}, "invalid_orders"), ({"orders": [order] * 21}, "invalid_orders"),
                       ({"orders": order}, "invalid_orders"), ({"order": [order]}, "missing_field"),
                       ([order], "invalid_json")]:
        refused = client.post(BATCH, json=body, headers=alice)
        assert refused.status_code == 400 and refused.json["error"]["code"] == code, (body, refused.json)
    assert client.post(BATCH, json={"orders": [order]}).status_code == 401
    assert client.get(f"{ORDERS}?status=all", headers=alice).json["orders"] == []


def test_a_batch_takes_one_hold_script_call(client, register, monkeypatch):
    alice = register("alice")
    calls = []
    hold_orders = Accounts.hold_orders
    monkeypatch.setattr(Accounts, "hold_orders", lambda self, *args, **kwargs: (
        calls.append(len(args[1])), hold_orders(self, *args, **kwargs))[1])
    orders = [{"symbol": symbol, "side": "buy", "price": f"1.{level:02d}", "quantity": 1}
              for symbol in ("KRYP", "ADAM") for level in range(10)]
    answers = batch(client, alice, orders).json["orders"]
    assert [answer["status"] for answer in answers] == ["new"] * 20
    assert calls == [20]


def test_a_client_order_id_twice_in_a_batch_answers_with_the_first_order(client, register):
    alice = register("alice")
    order = {"symbol": "KRYP", "side": "buy", "price": "2.00", "quantity": 1, "client_order_id": "twice"}
    first, second = batch(client, alice, [order, {**order, "quantity": 5}]).json["orders"]
    assert first["order_id"] == second["order_id"] and second["quantity"] == 1
    again = client.post(ORDERS, json=order, headers=alice)
    assert again.status_code == 200 and again.json["order_id"] == first["order_id"]
