"""The leaderboard: accounts marked to market at last prices; Σ value (house included) equals what was issued."""
from __future__ import annotations

import time
from dataclasses import replace

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from exchange.money import parse_cents
from exchange.valuation import Holdings, market_value
from ledger.leaderboard import standings


def test_standings_value_and_rank_in_integer_cents():
    prices = {"KRYP": 1234, "ADAM": None}
    accounts = {
        "a": ("alice", Holdings(cash=100, shares={"KRYP": 3, "ADAM": 50}), Holdings(cash=1000, shares={"KRYP": 1})),
        "b": ("bob", Holdings(cash=5000, shares={}), Holdings(cash=1000, shares={"KRYP": 1})),
        "house": ("house", Holdings(cash=7, shares={}), Holdings()),
    }
    rows = standings(accounts, prices)
    assert [(r.username, r.value, r.starting_value, r.pnl, r.house) for r in rows] == [
        ("bob", 5000, 2234, 2766, False), ("alice", 100 + 3 * 1234, 2234, 100 + 3 * 1234 - 2234, False),
        ("house", 7, 0, 7, True)]
    assert market_value(Holdings(cash=1, shares={"ADAM": 10**6}), prices) == 1  # never traded: no price


def signed(text: str) -> int:
    return -parse_cents(text[1:], allow_zero=True) if text.startswith("-") else parse_cents(text, allow_zero=True)


def account_value(client, headers, prices: dict[str, int | None]) -> int:
    balances = client.get("/api/v1/account", headers=headers).json["balances"]
    value = parse_cents(balances["USD"]["available"], allow_zero=True) + parse_cents(
        balances["USD"]["on_hold"], allow_zero=True)
    for symbol, amounts in balances.items():
        if symbol != "USD":
            value += (amounts["available"] + amounts["on_hold"]) * (prices[symbol] or 0)
    return value


PUBLIC_ROW = {"rank", "username", "house", "value", "pnl"}


def test_after_trades_the_sum_of_values_is_what_was_issued(client, register, settle, settings):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    users = {"alice": alice, "bob": bob, "carol": carol}

    def order(who, symbol, side, price, quantity):
        response = client.post("/api/v1/orders", headers=who, json={
            "symbol": symbol, "side": side, "type": "limit", "price": price, "quantity": quantity})
        assert response.status_code == 201, response.json

    order(alice, "KRYP", "sell", "12.34", 10)
    order(bob, "KRYP", "buy", "12.50", 4)        # trades 4 at 12.34
    order(carol, "KRYP", "buy", "12.40", 6)      # trades 6 at 12.34
    order(bob, "ADAM", "sell", "7.01", 30)
    order(carol, "ADAM", "buy", "7.05", 20)      # trades 20 at 7.01; 10 stay resting, on hold
    order(alice, "KRYP", "buy", "11.00", 5)      # rests: cash on hold
    settle()

    board = client.get("/api/v1/leaderboard").json
    prices = {"KRYP": 1234, "ADAM": 701, "PUPS": None}
    assert board["prices"] == {"KRYP": "12.34", "ADAM": "7.01", "PUPS": None}
    rows = board["leaderboard"]
    assert board["accounts"] == len(rows) == 4 and board["me"] is None
    by_name = {row["username"]: row for row in rows}
    issued = settings.starting_cash_cents + settings.starting_shares * (1234 + 701)
    for name, headers in users.items():
        row = by_name[name]
        assert parse_cents(row["value"]) == account_value(client, headers, prices), name
        assert signed(row["pnl"]) == parse_cents(row["value"]) - issued
        assert row["house"] is False
    house = by_name["house"]
    fees = sum(p * q * settings.taker_fee_bps // 10_000 for p, q in ((1234, 4), (1234, 6), (701, 20)))  # per fill
    assert house["house"] is True
    assert parse_cents(house["value"]) == parse_cents(house["pnl"]) == fees > 0

    values = [parse_cents(row["value"]) for row in rows]
    assert values == sorted(values, reverse=True) and [row["rank"] for row in rows] == [1, 2, 3, 4]
    issued_total = 3 * issued
    assert sum(values) == issued_total
    assert parse_cents(board["total_value"]) == parse_cents(board["total_starting_value"]) == issued_total
    assert sum(signed(row["pnl"]) for row in rows) == 0  # P&L is zero-sum, the house's fees included

    top_two = client.get("/api/v1/leaderboard?limit=2").json
    assert top_two["leaderboard"] == rows[:2] and top_two["total_value"] == board["total_value"]


def test_public_rows_show_no_balances_and_only_my_own_row_shows_mine(client, register, settle):
    alice, bob = register("alice"), register("bob")
    for who, side in ((alice, "sell"), (bob, "buy")):
        placed = client.post("/api/v1/orders", headers=who, json={
            "symbol": "KRYP", "side": side, "type": "limit", "price": "12.00", "quantity": 7})
        assert placed.status_code == 201, placed.json
    settle()

    public = client.get("/api/v1/leaderboard").json
    assert all(set(row) == PUBLIC_ROW for row in public["leaderboard"]), public["leaderboard"]
    assert public["me"] is None

    mine = client.get("/api/v1/leaderboard", headers=bob).json
    balances = client.get("/api/v1/account", headers=bob).json["balances"]
    (own,) = [row for row in mine["leaderboard"] if row["username"] == "bob"]
    assert own["cash"] == balances["USD"]["available"] and own["shares"]["KRYP"] == balances["KRYP"]["available"] == 107
    assert mine["me"] == own
    assert all(set(row) == PUBLIC_ROW for row in mine["leaderboard"] if row["username"] != "bob")
    # Outside the rows asked for, my row still comes as `me`; a bad token gets the public view.
    assert own["rank"] == 2  # alice paid no fee (maker), bob did (taker)
    top = client.get("/api/v1/leaderboard?limit=1", headers=bob).json
    assert top["me"] == own and [set(row) for row in top["leaderboard"]] == [PUBLIC_ROW]
    forged = client.get("/api/v1/leaderboard", headers={"Authorization": "Bearer forged"}).json
    assert forged["me"] is None and all(set(row) == PUBLIC_ROW for row in forged["leaderboard"])


def test_the_board_is_computed_at_most_once_per_max_age_for_every_replica(settings, redis_client, monkeypatch):
    from exchange import mongo
    from ledger import leaderboard as leaderboard_module
    from orderbook.app import create_app

    computed = []
    real = leaderboard_module.read_standings
    monkeypatch.setattr(leaderboard_module, "read_standings", lambda *a: computed.append(1) or real(*a))
    fast = replace(settings, leaderboard_max_age_s=2)
    one, two = create_app(fast).test_client(), create_app(fast).test_client()  # two replicas, one Redis
    try:
        assert one.post("/api/v1/users", json={"username": "alice", "password": "correct horse"}).status_code == 201
        first = one.get("/api/v1/leaderboard").json
        assert [row["username"] for row in first["leaderboard"]] == ["alice"]
        assert two.post("/api/v1/users", json={"username": "bob", "password": "correct horse"}).status_code == 201
        for _ in range(20):  # anonymous requests on both replicas: the copy computed above
            for replica in (one, two):
                assert replica.get("/api/v1/leaderboard").json["as_of"] == first["as_of"]
        assert len(computed) == 1
        time.sleep(2.1)
        later = two.get("/api/v1/leaderboard").json
        assert {row["username"] for row in later["leaderboard"]} == {"alice", "bob"} and len(computed) == 2
    finally:
        mongo.client(settings.mongo_url).drop_database(settings.mongo_db)


def test_before_any_trade_everyone_is_at_their_starting_cash(client, register, settings):
    register("alice")
    board = client.get("/api/v1/leaderboard").json
    assert board["prices"] == {"KRYP": None, "ADAM": None, "PUPS": None}
    (row,) = board["leaderboard"]  # no house row before its first fee
    assert row["username"] == "alice" and row["pnl"] == "0.00"
    assert parse_cents(row["value"]) == settings.starting_cash_cents


def test_bad_limit_is_a_400(client):
    for limit in ("0", "x", "-1", "100001"):
        response = client.get(f"/api/v1/leaderboard?limit={limit}")
        assert response.status_code == 400 and response.json["error"]["code"] == "invalid_parameter"

SYMBOLS = ("KRYP", "ADAM")
trades = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from(SYMBOLS),
                            st.integers(1, 10_000), st.integers(1, 50), st.integers(0, 30)), max_size=30)
prices = st.fixed_dictionaries({s: st.one_of(st.none(), st.integers(1, 100_000)) for s in SYMBOLS})


@hypothesis_settings(max_examples=200, deadline=None)
@given(trades, prices)
def test_trades_and_fees_never_change_the_total_value(fills, marks):
    """Any trades (cash one way, shares the other, fees to the house), at any marks: Σ value = Σ starting value."""
    issued = Holdings(cash=1_000_000, shares={s: 100 for s in SYMBOLS})
    cash = {i: issued.cash for i in range(4)} | {"house": 0}
    shares = {i: dict(issued.shares) for i in range(4)} | {"house": {}}
    for buyer, seller, symbol, price, quantity, fee in fills:
        cash[buyer] -= price * quantity + fee
        cash[seller] += price * quantity - fee
        cash["house"] += 2 * fee
        shares[buyer][symbol] += quantity
        shares[seller][symbol] -= quantity
    accounts = {str(i): (f"u{i}", Holdings(cash=cash[i], shares=shares[i]), issued) for i in range(4)}
    accounts["house"] = ("house", Holdings(cash=cash["house"]), Holdings())
    rows = standings(accounts, marks)
    assert sum(r.value for r in rows) == sum(r.starting_value for r in rows) == \
        4 * market_value(issued, marks)
    assert sum(r.pnl for r in rows) == 0
    assert [r.value for r in rows] == sorted((r.value for r in rows), reverse=True)
