"""Trading halts: a circuit breaker when the last price moves more than HALT_MOVE_BPS within
HALT_WINDOW_S, and an operator's halt and resume. During a halt new orders get 422
symbol_halted and cancels work; the symbol reopens on time with its book as it was; the
halt and the reopening are journal events in order with the trades."""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace

import pytest

from devstack.procs import python_module
from exchange.scripts import Scripts
from ledger.accounts import Accounts
from orderbook.entry import OrderEntry
from orderbook.errors import ApiError
from orderbook.halts import PriceWindow
from orderbook.schemas import PlaceOrder
from tests.journal import assert_journal_is_sequential, read_journal

ORDERS = "/api/v1/orders"
HALT_S = 2


@pytest.fixture
def settings(settings):
    return replace(settings, price_band_bps=1000, halt_move_bps=500, halt_window_s=60, halt_s=HALT_S)


def place(client, headers, side, price, quantity=1):
    return client.post(ORDERS, json={"symbol": "KRYP", "side": side, "price": price, "quantity": quantity},
                       headers=headers)


def trade_at(client, buyer, seller, price: str) -> None:
    assert place(client, seller, "sell", price).status_code == 201
    assert place(client, buyer, "buy", price).json["status"] == "filled"


def kryp_status(client) -> dict:
    return next(s for s in client.get("/api/v1/symbols").json["symbols"] if s["symbol"] == "KRYP")


def test_the_window_keeps_the_extremes_of_its_last_span():
    window = PriceWindow(window_ms=1000)
    for time_ms, price in ((0, 1000), (100, 1040), (200, 990), (300, 1020)):
        window.add(time_ms, price)
    assert not window.moved(400, 1039, 500) and window.moved(400, 1040, 500)  # > 5 % over the low of 990
    assert not window.moved(400, 989, 500) and window.moved(400, 987, 500)  # > 5 % under the high of 1040
    assert window.moved(1150, 968, 500) and not window.moved(1150, 970, 500)  # 0 and 100 have left: high 1020
    assert not window.moved(600_000, 2000, 500)  # after a quiet spell nothing is left to compare with
    window.add(600_000, 2000)
    window.clear()
    assert not window.moved(600_001, 1, 500)


def test_a_burst_that_moves_the_price_too_far_halts_the_symbol_until_it_reopens(client, register, settings,
                                                                                 redis_client, settle, audit):
    alice, bob = register("alice"), register("bob")
    resting = place(client, bob, "buy", "9.60").json  # stays on the book through the halt
    trade_at(client, alice, bob, "10.00")
    trade_at(client, alice, bob, "10.30")  # 3 %: trading goes on
    assert kryp_status(client)["status"] == "trading"
    trade_at(client, alice, bob, "10.51")  # 5.1 % over $10.00 within the window: halted after this trade
    status = kryp_status(client)
    assert status["status"] == "halted" and status["halt_reason"] == "circuit_breaker"
    assert status["halted_until"] > time.time() * 1000
    ticker = client.get("/api/v1/ticker/KRYP").json
    assert (ticker["status"], ticker["halted_until"]) == ("halted", status["halted_until"])
    refused = place(client, alice, "buy", "10.50")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "symbol_halted"
    other = OrderEntry(settings, redis_client, Accounts(redis_client), Scripts(redis_client))  # another replica
    with pytest.raises(ApiError, match="halted"):
        other.place(bob.user_id, PlaceOrder(symbol="KRYP", side="sell", price="10.50", quantity=1))
    assert client.delete(f"{ORDERS}/{resting['order_id']}", headers=bob).json["status"] == "canceled"
    assert place(client, bob, "buy", "9.70").status_code == 422
    time.sleep(max(0.0, status["halted_until"] / 1000 - time.time()) + 0.1)
    assert kryp_status(client)["status"] == "trading"
    assert place(client, bob, "buy", "10.40").json["status"] == "new"  # reopened: the first order is taken
    kinds = [(e["type"], e.get("reason")) for e in read_journal(redis_client, "KRYP")
             if e["type"] in ("trade", "halted", "resumed")]
    assert kinds == [("trade", None)] * 3 + [("halted", "circuit_breaker"), ("resumed", "halt_ended")]
    assert_journal_is_sequential(redis_client, "KRYP")
    settle()
    audit()  # the refused orders' holds came back


def test_after_a_halt_the_breaker_counts_only_trades_since(client, register, settings, redis_client):
    """Both on the matcher that halted and on one that loads the book afresh from Redis."""
    alice, bob = register("alice"), register("bob")
    trade_at(client, alice, bob, "10.00")
    trade_at(client, alice, bob, "10.51")
    halted_until = kryp_status(client)["halted_until"]
    time.sleep(max(0.0, halted_until / 1000 - time.time()) + 0.1)
    fresh = OrderEntry(settings, redis_client, Accounts(redis_client), Scripts(redis_client))  # reloads
    for seller, buyer, price in ((bob.user_id, alice.user_id, "9.98"), (alice.user_id, bob.user_id, "10.45")):
        # 5.0 % under the pre-halt $10.51, then 4.5 % over the pre-halt $10.00: neither counts any more
        fresh.place(seller, PlaceOrder(symbol="KRYP", side="sell", price=price, quantity=1))
        assert fresh.place(buyer, PlaceOrder(symbol="KRYP", side="buy", price=price, quantity=1))[1]["status"] == \
            "filled"
    assert place(client, alice, "buy", "10.40").json["status"] == "new"  # the halting matcher agrees
    assert kryp_status(client)["status"] == "trading"


def test_the_standing_matcher_reopens_on_time_without_any_order(settings, redis_client):
    port = redis_client.connection_pool.connection_kwargs["port"]
    worker = python_module("orderbook.worker", env={
        "REDIS_URL": f"redis://127.0.0.1:{port}/0", "SYMBOLS": "KRYP", "HALT_MOVE_BPS": "500", "HALT_S": str(HALT_S)})
    try:
        accounts = Accounts(redis_client)
        for user in ("erin", "finn"):
            accounts.open(user, 10**8, {"KRYP": 1000})
        entry = OrderEntry(replace(settings, symbols=("KRYP",)), redis_client, accounts, Scripts(redis_client))
        for price in ("20.00", "21.01"):
            entry.place("erin", PlaceOrder(symbol="KRYP", side="sell", price=price, quantity=1))
            entry.place("finn", PlaceOrder(symbol="KRYP", side="buy", price=price, quantity=1))
        deadline = time.monotonic() + HALT_S + 5
        while not [e for e in read_journal(redis_client, "KRYP") if e["type"] == "resumed"]:
            assert time.monotonic() < deadline, "no resumed event"
            time.sleep(0.05)
        events = read_journal(redis_client, "KRYP")
        halted = next(e for e in events if e["type"] == "halted")
        resumed = next(e for e in events if e["type"] == "resumed")
        assert 0 <= resumed["time"] - halted["until_ms"] < 1000 and resumed["sequence"] == halted["sequence"] + 1
    finally:
        worker.stop()


@pytest.fixture
def matching_worker(settings):
    """The standing matcher, with the settings the tests' API has: the operator only asks it."""
    worker = python_module("orderbook.worker", env={
        "REDIS_URL": settings.redis_url, "SYMBOLS": ",".join(settings.symbols), "PRICE_BAND_BPS": "1000",
        "HALT_MOVE_BPS": "500", "HALT_S": str(HALT_S)})
    yield worker
    worker.stop()


def test_an_operator_halts_and_resumes_a_symbol_from_the_command_line(client, register, settings, matching_worker):
    alice = register("alice")
    env = {"REDIS_URL": settings.redis_url, "SYMBOLS": ",".join(settings.symbols), "PATH": "/usr/bin:/bin"}

    def operator(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "orderbook", *args], env=env, capture_output=True, text=True,
                              timeout=60)

    halted = operator("halt", "pups")
    assert halted.returncode == 0 and "PUPS: halted" in halted.stdout, halted.stderr
    status = next(s for s in client.get("/api/v1/symbols").json["symbols"] if s["symbol"] == "PUPS")
    assert (status["status"], status["halted_until"], status["halt_reason"]) == ("halted", None, "operator")
    order = {"symbol": "PUPS", "side": "buy", "price": "5.00", "quantity": 1}
    assert client.post(ORDERS, json=order, headers=alice).json["error"]["code"] == "symbol_halted"
    assert place(client, alice, "buy", "5.00").status_code == 201  # other symbols trade on
    resumed = operator("resume", "PUPS")
    assert resumed.returncode == 0 and "PUPS: trading" in resumed.stdout
    assert client.post(ORDERS, json=order, headers=alice).status_code == 201
    assert operator("halt", "NOPE").returncode == 2  # not listed: a usage error
    timed = operator("halt", "PUPS", "--for-s", "1")
    assert timed.returncode == 0 and "until" in timed.stdout
    time.sleep(1.2)
    assert client.post(ORDERS, json=order, headers=alice).status_code == 201


def test_without_a_matcher_the_operators_halt_waits_in_the_inbox_for_the_next_order(client, register, settings,
                                                                                     redis_client):
    from orderbook.operator import set_trading

    alice = register("alice")
    assert set_trading(redis_client, replace(settings, order_wait_ms=200), "KRYP", halt=True) is None
    refused = place(client, alice, "buy", "5.00")  # its matcher applies the halt first, then the order
    assert refused.json["error"]["code"] == "symbol_halted"


def test_reconciliation_passes_over_an_operators_command_waiting_in_the_inbox(settings, redis_client):
    from exchange import keys
    from ledger import reconcile
    from orderbook.commands import encode_halt

    redis_client.xadd(keys.inbox("KRYP"), {"c": encode_halt(None)})  # queued: no matcher has run yet
    assert reconcile._queued_order_ids(redis_client, settings.symbols) == set()
    assert reconcile.void_orphan_holds(redis_client, settings) == []
