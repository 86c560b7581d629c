"""Order entry through the Flask app against real Redis and MongoDB-wire servers."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

ORDERS = "/api/v1/orders"


def place(client, headers, **body):
    body.setdefault("symbol", "KRYP")
    return client.post(ORDERS, json=body, headers=headers)


def balances(client, headers):
    return client.get("/api/v1/account", headers=headers).json["balances"]


def test_new_user_gets_starting_cash_and_shares(client, register):
    alice = register("alice")
    assert balances(client, alice) == {
        "ADAM": {"available": 100, "on_hold": 0}, "KRYP": {"available": 100, "on_hold": 0},
        "PUPS": {"available": 100, "on_hold": 0}, "USD": {"available": "10000.00", "on_hold": "0.00"}}


def test_response_shows_fills_one_per_resting_order_in_matching_order(client, register, settle):
    alice, bob = register("alice"), register("bob")
    first = place(client, alice, side="sell", price="10.00", quantity=3).json
    second = place(client, alice, side="sell", price="10.00", quantity=4).json
    better = place(client, alice, side="sell", price="9.99", quantity=2).json
    resp = place(client, bob, side="buy", price="10.00", quantity=8)
    assert resp.status_code == 201
    order = resp.json
    assert order["status"] == "filled" and order["filled_quantity"] == 8 and order["remaining_quantity"] == 0
    assert [(f["price"], f["quantity"], f["liquidity"], f["fee"]) for f in order["fills"]] == [
        ("9.99", 2, "taker", "0.01"), ("10.00", 3, "taker", "0.03"), ("10.00", 3, "taker", "0.03")]
    assert client.get(f"{ORDERS}/{first['order_id']}", headers=alice).json["status"] == "filled"
    partial = client.get(f"{ORDERS}/{second['order_id']}", headers=alice).json
    assert (partial["status"], partial["filled_quantity"], partial["remaining_quantity"]) == ("partially_filled", 3, 1)
    assert client.get(f"{ORDERS}/{better['order_id']}", headers=alice).json["fills"][0]["liquidity"] == "maker"
    settle()
    # bob paid 2 × 9.99 + 6 × 10.00 = 79.98 plus 0.07 of taker fees (10 bps, floored per fill)
    assert balances(client, bob)["USD"] == {"available": "9919.95", "on_hold": "0.00"}
    assert balances(client, bob)["KRYP"] == {"available": 108, "on_hold": 0}
    assert balances(client, alice)["USD"] == {"available": "10079.98", "on_hold": "0.00"}
    assert balances(client, alice)["KRYP"] == {"available": 91, "on_hold": 1}


def test_hold_is_placed_at_once_and_released_on_cancel(client, register, settle):
    alice = register("alice")
    order = place(client, alice, side="buy", price="12.34", quantity=10).json
    # 12.34 × 10 plus a fee reserve of floor(123.40 × 10 bps) = 0.12
    assert balances(client, alice)["USD"] == {"available": "9876.48", "on_hold": "123.52"}
    resp = client.delete(f"{ORDERS}/{order['order_id']}", headers=alice)
    assert resp.status_code == 200 and resp.json["status"] == "canceled"
    settle()
    assert balances(client, alice)["USD"] == {"available": "10000.00", "on_hold": "0.00"}
    again = client.delete(f"{ORDERS}/{order['order_id']}", headers=alice)
    assert again.status_code == 409 and again.json["error"]["code"] == "order_not_open"


def test_cancel_of_a_partly_filled_order_shows_its_fills(client, register):
    alice, bob = register("alice"), register("bob")
    order = place(client, alice, side="buy", price="10.00", quantity=10).json
    place(client, bob, side="sell", price="10.00", quantity=4)
    resp = client.delete(f"{ORDERS}/{order['order_id']}", headers=alice)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "canceled" and resp.json["filled_quantity"] == 4
    assert [(f["price"], f["quantity"], f["liquidity"]) for f in resp.json["fills"]] == [("10.00", 4, "maker")]


def test_ioc_remainder_is_canceled_and_its_hold_released(client, register, settle):
    alice, bob = register("alice"), register("bob")
    place(client, alice, side="sell", price="5.00", quantity=2)
    order = place(client, bob, side="buy", price="5.50", quantity=5, time_in_force="IOC").json
    assert (order["status"], order["filled_quantity"], order["reason"]) == ("canceled", 2, "ioc_remainder")
    settle()
    assert balances(client, bob)["USD"] == {"available": "9989.99", "on_hold": "0.00"}  # 10.00 + 0.01 fee


def test_fok_that_cannot_fill_trades_nothing(client, register, settle):
    alice, bob = register("alice"), register("bob")
    place(client, alice, side="sell", price="5.00", quantity=2)
    order = place(client, bob, side="buy", price="5.00", quantity=3, time_in_force="FOK").json
    assert (order["status"], order["filled_quantity"], order["fills"]) == ("canceled", 0, [])
    assert client.get("/api/v1/book/KRYP").json["asks"] == [["5.00", 2]]
    settle()
    assert balances(client, bob)["USD"]["on_hold"] == "0.00"


def test_market_buy_is_held_at_the_collar_and_released_after(client, register, settle):
    alice, bob = register("alice"), register("bob")
    place(client, alice, side="sell", price="10.00", quantity=1)
    place(client, alice, side="sell", price="10.50", quantity=1)
    place(client, alice, side="sell", price="11.50", quantity=5)  # beyond the 10 % collar of 11.00
    order = place(client, bob, side="buy", type="market", quantity=4).json
    assert order["protection_price"] == "11.00"
    assert [(f["price"], f["quantity"]) for f in order["fills"]] == [("10.00", 1), ("10.50", 1)]
    assert (order["status"], order["reason"], order["remaining_quantity"]) == ("canceled", "market_remainder", 2)
    settle()
    assert balances(client, bob)["USD"] == {"available": "9979.48", "on_hold": "0.00"}  # 20.50 + 2 × 0.01


def test_market_order_without_liquidity_is_refused(client, register):
    bob = register("bob")
    resp = place(client, bob, side="buy", type="market", quantity=1)
    assert resp.status_code == 422 and resp.json["error"]["code"] == "no_liquidity"
    assert balances(client, bob)["USD"]["on_hold"] == "0.00"


def test_post_only_that_would_take_is_rejected(client, register, settle):
    alice, bob = register("alice"), register("bob")
    place(client, alice, side="sell", price="10.00", quantity=1)
    order = place(client, bob, side="buy", price="10.00", quantity=1, post_only=True).json
    assert (order["status"], order["reason"]) == ("rejected", "post_only_would_take")
    resting = place(client, bob, side="buy", price="9.99", quantity=1, post_only=True).json
    assert resting["status"] == "new"


def test_self_trade_cancels_the_resting_order_by_default(client, register, settle):
    alice = register("alice")
    resting = place(client, alice, side="sell", price="10.00", quantity=1).json
    taker = place(client, alice, side="buy", price="10.00", quantity=1).json
    assert taker["fills"] == [] and taker["status"] == "new"
    assert client.get(f"{ORDERS}/{resting['order_id']}", headers=alice).json["reason"] == "self_trade"
    settle()
    assert balances(client, alice)["KRYP"] == {"available": 100, "on_hold": 0}


def test_amend_size_down_keeps_priority(client, register):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    first = place(client, alice, side="sell", price="10.00", quantity=5).json
    place(client, bob, side="sell", price="10.00", quantity=5)
    amended = client.patch(f"{ORDERS}/{first['order_id']}", json={"quantity": 2}, headers=alice)
    assert amended.status_code == 200 and amended.json["quantity"] == 2
    fills = place(client, carol, side="buy", price="10.00", quantity=1).json["fills"]
    assert len(fills) == 1
    assert client.get(f"{ORDERS}/{first['order_id']}", headers=alice).json["filled_quantity"] == 1
    grow = client.patch(f"{ORDERS}/{first['order_id']}", json={"quantity": 9}, headers=alice)
    assert grow.status_code == 400 and grow.json["error"]["code"] == "invalid_quantity"


def test_repeated_client_order_id_returns_the_original(client, register):
    alice = register("alice")
    first = place(client, alice, side="buy", price="1.00", quantity=1, client_order_id="abc-1")
    again = place(client, alice, side="buy", price="1.00", quantity=1, client_order_id="abc-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["order_id"] == first.json["order_id"]
    assert len(client.get(ORDERS, headers=alice).json["orders"]) == 1
    assert balances(client, alice)["USD"]["on_hold"] == "1.00"


def test_concurrent_repeats_of_a_client_order_id_place_one_order(client, app, register):
    alice = register("alice")

    def submit(_):
        with app.test_client() as c:
            return c.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": 1,
                                        "client_order_id": "same"}, headers=alice).json["order_id"]
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(submit, range(16)))
    assert len(ids) == 1
    assert balances(client, alice)["USD"]["on_hold"] == "1.00"


def test_list_open_and_all_and_cancel_all(client, register, settle):
    alice = register("alice")
    a = place(client, alice, side="buy", price="1.00", quantity=1).json
    b = place(client, alice, side="sell", price="20.00", quantity=1, symbol="ADAM").json
    client.delete(f"{ORDERS}/{a['order_id']}", headers=alice)
    open_ids = [o["order_id"] for o in client.get(ORDERS, headers=alice).json["orders"]]
    assert open_ids == [b["order_id"]]
    all_ids = {o["order_id"] for o in client.get(f"{ORDERS}?status=all", headers=alice).json["orders"]}
    assert all_ids == {a["order_id"], b["order_id"]}
    assert client.get(f"{ORDERS}?symbol=KRYP", headers=alice).json["orders"] == []
    unknown = client.delete(f"{ORDERS}?symbol=NOPE", headers=alice)  # a query's symbol: bad input, not 404
    assert (unknown.status_code, unknown.json["error"]["code"]) == (400, "unknown_symbol")
    canceled = client.delete(ORDERS, headers=alice).json["canceled"]
    assert [o["order_id"] for o in canceled] == [b["order_id"]]
    assert client.get(ORDERS, headers=alice).json["orders"] == []
    settle()
    assert balances(client, alice)["ADAM"] == {"available": 100, "on_hold": 0}


def test_book_and_ticker(client, register):
    alice, bob = register("alice"), register("bob")
    place(client, alice, side="sell", price="10.05", quantity=3)
    place(client, alice, side="sell", price="10.05", quantity=2)
    place(client, alice, side="sell", price="10.10", quantity=1)
    place(client, bob, side="buy", price="10.00", quantity=4)
    place(client, bob, side="buy", price="9.90", quantity=1)
    book = client.get("/api/v1/book/KRYP?depth=1").json
    assert book["bids"] == [["10.00", 4]] and book["asks"] == [["10.05", 5]]
    full = client.get("/api/v1/book/KRYP").json
    assert full["asks"] == [["10.05", 5], ["10.10", 1]] and full["bids"] == [["10.00", 4], ["9.90", 1]]
    ticker = client.get("/api/v1/ticker/KRYP").json
    assert (ticker["bid"], ticker["ask"], ticker["spread"], ticker["mid"], ticker["last"]) == (
        "10.00", "10.05", "0.05", "10.025", None)
    assert ticker["sequence"] == full["sequence"] > 0
    place(client, bob, side="buy", price="10.05", quantity=1)
    trades = client.get("/api/v1/trades/KRYP").json["trades"]
    assert [(t["price"], t["quantity"], t["taker_side"]) for t in trades] == [("10.05", 1, "buy")]
    assert client.get("/api/v1/ticker/KRYP").json["last"] == "10.05"


def test_racing_buyers_never_overdraw(client, app, register):
    alice = register("alice")

    def buy(_):
        with app.test_client() as c:
            return c.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "999.00", "quantity": 1},
                          headers=alice).status_code
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(buy, range(20)))
    # each order holds 999.00 + 0.99 of fee reserve: ten fit in 10,000.00
    assert codes.count(201) == 10 and codes.count(422) == 10
    assert balances(client, alice)["USD"] == {"available": "0.10", "on_hold": "9999.90"}


def test_login_and_logout(client, register):
    register("alice", "s3cret-password")
    token = client.post("/api/v1/sessions", json={"username": "alice", "password": "s3cret-password"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/account", headers=headers).status_code == 200
    assert client.delete("/api/v1/sessions", headers=headers).status_code == 204
    revoked = client.get("/api/v1/account", headers=headers)
    assert revoked.status_code == 401 and revoked.json["error"]["code"] == "invalid_token"


def test_openapi_lists_the_order_schema(client):
    doc = client.get("/api/v1/openapi.json").json
    body = doc["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"symbol", "side", "quantity", "price"} <= set(doc["components"]["schemas"]["PlaceOrder"]["properties"])
    assert body == {"$ref": "#/components/schemas/PlaceOrder"}
