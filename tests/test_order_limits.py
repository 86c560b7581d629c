"""What one user can make the book hold is bounded: open orders per symbol, the smallest order,
and a public book snapshot whose cost follows the depth asked, not the size of the book."""
from __future__ import annotations

from dataclasses import replace

import pytest

from exchange import keys

ORDERS = "/api/v1/orders"


@pytest.fixture
def settings(settings):
    return replace(settings, max_open_orders=3, rate_limit="")


def place(client, headers, **body):
    return client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": 1, **body},
                       headers=headers)


def test_a_user_at_the_open_order_cap_is_refused_and_holds_nothing_for_it(client, register, settle, audit):
    alice, bob = register("alice"), register("bob")
    for price in ("1.00", "1.01", "1.02"):
        assert place(client, alice, price=price).status_code == 201
    refused = place(client, alice, price="1.03")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "too_many_open_orders"
    assert place(client, alice, symbol="ADAM").status_code == 201  # the cap is per symbol
    assert place(client, bob).status_code == 201  # and per user
    # Orders that cannot rest are still accepted at the cap; a cancel makes room.
    ioc = place(client, alice, price="1.00", time_in_force="IOC")
    assert ioc.status_code == 201 and ioc.json["status"] == "canceled"  # nothing to take: its remainder ends
    first = client.get(f"{ORDERS}?symbol=KRYP", headers=alice).json["orders"][0]
    client.delete(f"{ORDERS}/{first['order_id']}", headers=alice)
    assert place(client, alice, price="1.04").status_code == 201
    settle()
    usd = client.get("/api/v1/account", headers=alice).json["balances"]["USD"]
    open_orders = client.get(ORDERS, headers=alice).json["orders"]
    assert len([o for o in open_orders if o["symbol"] == "KRYP"]) == 3
    assert usd["on_hold"] == "4.05"  # 1.00 + 1.01 + 1.04 on KRYP (1.02 canceled), 1.00 on ADAM; nothing else
    report = audit()
    assert report.ok, report.problems


def test_an_order_worth_less_than_the_minimum_is_refused(client, register):
    alice, bob = register("alice"), register("bob")
    small = place(client, alice, price="0.99")
    assert small.status_code == 422 and small.json["error"]["code"] == "order_too_small"
    assert place(client, alice, price="0.50", quantity=2).status_code == 201  # $1.00 is enough
    market = place(client, bob, side="sell", type="market", price=None, quantity=1)  # 1 × $0.50
    assert market.status_code == 422 and market.json["error"]["code"] == "order_too_small"
    assert client.get("/api/v1/account", headers=bob).json["balances"]["KRYP"]["on_hold"] == 0


def test_a_book_snapshot_reads_only_the_levels_it_returns(client, register, redis_client, settings, app):
    from orderbook.schemas import PlaceOrder

    entry = app.extensions["exchange"].entry
    matcher = entry.matchers["KRYP"]
    matcher.rules = replace(matcher.rules, max_open_orders=None)  # many orders at few levels
    users = [register(f"user{i}") for i in range(4)]
    for user in users:
        for i in range(60):
            entry.place(user.user_id, PlaceOrder(symbol="KRYP", side="sell", price=f"2.0{i % 3}", quantity=1))
    redis_client.config_resetstat()
    book = client.get("/api/v1/book/KRYP?depth=2").json
    assert book["asks"] == [["2.00", 80], ["2.01", 80]]
    stats = redis_client.info("commandstats")
    assert "cmdstat_hget" not in stats  # no resting order was read
    assert stats["cmdstat_zrange"]["calls"] <= 2 and stats["cmdstat_hmget"]["calls"] <= 2
    assert redis_client.zcard(keys.asks("KRYP")) == 240


def test_an_order_worth_more_than_the_notional_cap_is_refused(client, register, settings, app):
    alice = register("alice")
    app.extensions["exchange"].entry.settings = replace(settings, max_order_notional_cents=100_000)  # $1,000
    at_cap = client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "10.00", "quantity": 100},
                         headers=alice)
    assert at_cap.status_code == 201, at_cap.json
    over = client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "10.01", "quantity": 100},
                       headers=alice)
    assert over.status_code == 422 and over.json["error"]["code"] == "order_too_large"
    assert "at most 1000.00" in over.json["error"]["message"]


def test_the_notional_cap_is_a_positive_amount_or_off():
    from exchange.config import Settings

    assert Settings.from_env({}).max_order_notional_cents == 100_000_000
    assert Settings.from_env({"MAX_ORDER_NOTIONAL_CENTS": ""}).max_order_notional_cents is None
    assert Settings.from_env({"MAX_ORDER_NOTIONAL_CENTS": "5000"}).max_order_notional_cents == 5000
    with pytest.raises(SystemExit, match="MAX_ORDER_NOTIONAL_CENTS"):
        Settings.from_env({"MAX_ORDER_NOTIONAL_CENTS": "0"})
