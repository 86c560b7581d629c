"""Settlement into both stores, fees to the house, checks that can fail, and reconciliation."""
from __future__ import annotations

import random

from exchange import keys, mongo
from exchange.order_ids import new_order_id
from ledger.reconcile import void_orphan_holds

ORDERS = "/api/v1/orders"


def trade_randomly(client, users, rng: random.Random, count: int) -> None:
    for _ in range(count):
        headers = rng.choice(users)
        roll = rng.random()
        if roll < 0.15:
            open_orders = client.get(ORDERS, headers=headers).json["orders"]
            if open_orders:
                client.delete(f"{ORDERS}/{rng.choice(open_orders)['order_id']}", headers=headers)
            continue
        body = {"symbol": rng.choice(("KRYP", "ADAM")), "side": rng.choice(("buy", "sell")),
                "quantity": rng.randint(1, 8)}
        if roll < 0.25:
            body["type"] = "market"
        else:
            body["price"] = f"{rng.randint(95, 105) / 10:.2f}"
            body["time_in_force"] = rng.choice(("GTC", "GTC", "IOC", "FOK"))
        resp = client.post(ORDERS, json=body, headers=headers)
        assert resp.status_code in (201, 422), resp.json


def test_random_flow_conserves_money_in_both_stores(client, register, settle, audit, settings):
    users = [register(name) for name in ("alice", "bob", "carol", "dave")]
    trade_randomly(client, users, random.Random(3), 150)
    settle()
    report = audit()
    assert report.ok, report.problems
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    trades = list(db[mongo.TRADES].find())
    assert trades, "the random flow should have traded"
    house = db[mongo.ACCOUNTS].find_one({"_id": "house"})
    assert house["cash"]["available"] == sum(t["buyer_fee"] + t["seller_fee"] for t in trades) > 0


def test_check_notices_money_that_appears_or_disappears(client, register, settle, audit, redis_client):
    alice = register("alice")
    client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": 1}, headers=alice)
    settle()
    assert audit().ok
    redis_client.hincrby(keys.account(alice.user_id), "cash:available", 1)
    problems = audit().problems
    assert any("Σ cash" in p for p in problems) and any("live" in p and "ledger" in p for p in problems)


def test_check_notices_a_hold_that_does_not_match_its_order(client, register, settle, audit, redis_client):
    alice = register("alice")
    order = client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "5.00", "quantity": 3},
                        headers=alice).json
    settle()
    field = f"hold:{order['order_id']}:KRYP"
    redis_client.hincrby(keys.account(alice.user_id), field, -1)
    assert any("needs 3" in p for p in audit().problems)


def test_reconcile_voids_a_hold_whose_order_never_reached_the_book(client, register, settle, audit,
                                                                  redis_client, settings, app):
    alice = register("alice")
    accounts = app.extensions["exchange"].accounts
    stale = new_order_id("KRYP", 1_000)  # placed long ago; its submitter died before queueing it
    fresh = new_order_id("KRYP", 10**13)  # "now": may still be on its way to the book
    assert accounts.place_hold(alice.user_id, "cash", 500, stale)
    assert accounts.place_hold(alice.user_id, "cash", 700, fresh)
    done = void_orphan_holds(redis_client, settings, now_ms=10**13 + 1)
    assert len(done) == 1 and stale in done[0] and "voided" in done[0]
    assert redis_client.zscore(keys.voided("KRYP"), stale) is not None  # the book refuses it for good
    settle()  # the ledger releases the hold when it settles the journal's 'voided'
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"] == {
        "available": "9993.00", "on_hold": "7.00"}
    assert void_orphan_holds(redis_client, settings, now_ms=10**13 + 1) == []
    report = audit()
    assert report.ok, report.problems  # the fresh hold counts as waiting for its order


def test_fills_history(client, register, settle):
    alice, bob = register("alice"), register("bob")
    client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "10.00", "quantity": 2}, headers=alice)
    client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "10.00", "quantity": 2}, headers=bob)
    settle()
    fills = client.get("/api/v1/fills?symbol=KRYP", headers=bob).json["fills"]
    assert [(f["side"], f["price"], f["quantity"], f["fee"], f["liquidity"]) for f in fills] == [
        ("buy", "10.00", 2, "0.02", "taker")]
    maker = client.get("/api/v1/fills", headers=alice).json["fills"]
    assert [(f["side"], f["fee"], f["liquidity"]) for f in maker] == [("sell", "0.00", "maker")]


def test_ledger_cli_exits_non_zero_on_a_discrepancy(client, register, settings, redis_client, monkeypatch, capsys):
    from ledger.__main__ import main

    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("MONGO_URL", settings.mongo_url)
    monkeypatch.setenv("MONGO_DB", settings.mongo_db)
    alice, bob = register("alice"), register("bob")
    client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "3.00", "quantity": 2}, headers=alice)
    client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "3.00", "quantity": 1}, headers=bob)
    assert main(["check"]) == 0  # it settles what is pending first
    assert "ledger check: OK" in capsys.readouterr().out
    redis_client.hincrby(keys.account(bob.user_id), "KRYP:available", 5)
    assert main(["reconcile"]) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_journal_is_trimmed_only_behind_every_consumer_and_the_retention_period(redis_client, settings):
    from ledger import retention
    from ledger.consumer import GROUP

    stream = keys.events("KRYP")
    ids = [redis_client.xadd(stream, {"sequence": i, "event": b"{}"}, id=f"{1000 + i}-0") for i in range(1, 11)]
    now = 1010 + 3_600_000
    assert retention.trim(redis_client, "KRYP", now_ms=now) == 0  # no consumer has started: keep all
    redis_client.xgroup_create(stream, GROUP, id=ids[6])  # the ledger of record read up to entry 7
    redis_client.set(keys.settled_cursor("KRYP"), ids[8])  # live settlement is at 9
    assert retention.trim(redis_client, "KRYP", now_ms=now) == 0  # the ticker never started
    redis_client.set(keys.ticker_cursor("KRYP"), ids[4])  # the ticker is the slowest, at 5
    assert retention.trim(redis_client, "KRYP", now_ms=now) == 0  # the archive never started
    redis_client.set(keys.archived_cursor("KRYP"), ids[5])  # MongoDB's events hold 1-6
    assert retention.trim(redis_client, "KRYP", retention_ms=5, now_ms=1011) == 4  # entries 1-4 go
    assert redis_client.xlen(stream) == 6
    assert retention.trim(redis_client, "KRYP", now_ms=now) == 0  # entry 5 stays: the ticker reads after it
    assert retention.trim(redis_client, "KRYP", retention_ms=3_600_000, now_ms=1_000_000) == 0  # too recent
    redis_client.set(keys.ticker_cursor("KRYP"), ids[9])
    assert retention.trim(redis_client, "KRYP", now_ms=now) == 1  # entry 5 goes: the archive holds it
    assert redis_client.xrange(stream)[0][0] == ids[5]  # the archive's last entry stays, as every cursor's
    redis_client.set(keys.archived_cursor("KRYP"), ids[9])
    redis_client.xreadgroup(GROUP, "c1", {stream: ">"}, count=2)  # entries 8 and 9 delivered, not acknowledged
    assert retention.trim(redis_client, "KRYP", now_ms=now) == 2  # down to the oldest pending entry, 8
    assert redis_client.xrange(stream)[0][0] == ids[7]


def test_live_settlement_keeps_its_cursor_until_every_account_step_applied(client, register, redis_client):
    import pytest

    from ledger.live_settlement import SettlementFailed, SymbolSettler

    alice, bob = register("alice"), register("bob")
    client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "10.00", "quantity": 2}, headers=alice)
    client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "10.00", "quantity": 2}, headers=bob)
    # Bob's account refuses its step (a field its script cannot read as a number); Alice's applies.
    redis_client.hset(keys.account(bob.user_id), "applied:KRYP", "not a number")
    settler = SymbolSettler(redis_client, "KRYP")
    with pytest.raises(SettlementFailed):
        settler.run_once()
    assert redis_client.get(keys.settled_cursor("KRYP")) is None
    assert int(redis_client.hget(keys.account(alice.user_id), "cash:available")) == 1_000_000 + 2000

    redis_client.hset(keys.account(bob.user_id), "applied:KRYP", 0)
    settler.run_once()
    last = redis_client.xrevrange(keys.events("KRYP"), count=1)[0][0]
    assert redis_client.get(keys.settled_cursor("KRYP")) == last
    assert int(redis_client.hget(keys.account(alice.user_id), "cash:available")) == 1_000_000 + 2000  # once
    assert int(redis_client.hget(keys.account(bob.user_id), "KRYP:available")) == 102
