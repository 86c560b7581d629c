"""A client_order_id has one answer: the one order, or the same refusal, whoever asks and whenever.

The id is recorded by the same script that places (or refuses) the order's hold, so no
retry can see it half-made, and a submitter that dies after the hold leaves an id that
reconciliation resolves (voided) instead of one stuck at 'pending'.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from devstack.procs import ROOT
from exchange import keys
from ledger.reconcile import void_orphan_holds

ORDERS = "/api/v1/orders"
TOO_BIG = {"symbol": "KRYP", "side": "buy", "price": "100.00", "quantity": 1000}  # $100,000: refused


@pytest.fixture
def settings(settings):
    return replace(settings, rate_limit="")  # the bursts below are what is tested, not the limiter


def answers(app, headers, body: dict, count: int = 24) -> list[tuple[int, dict]]:
    """``count`` concurrent POST /orders of the same body, started together."""
    start = threading.Barrier(count)

    def submit(_):
        with app.test_client() as client:
            start.wait(10)
            resp = client.post(ORDERS, json=body, headers=headers)
            return resp.status_code, resp.json
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(submit, range(count)))


def test_concurrent_retries_of_a_refused_order_all_get_the_same_refusal(app, register):
    alice = register("alice")
    for round_ in range(5):
        got = answers(app, alice, {**TOO_BIG, "client_order_id": f"big-{round_}"})
        assert {status for status, _ in got} == {422}, got
        assert {body["error"]["code"] for _, body in got} == {"insufficient_funds"}
    later = app.test_client().post(ORDERS, json={**TOO_BIG, "quantity": 1, "client_order_id": "big-0"},
                                   headers=alice)  # even once it would be affordable: the id has its answer
    assert later.status_code == 422 and later.json["error"]["code"] == "insufficient_funds"


def test_concurrent_retries_of_a_market_order_with_no_liquidity_get_one_answer(app, register):
    alice = register("alice")
    body = {"symbol": "KRYP", "side": "buy", "type": "market", "quantity": 1, "client_order_id": "mkt"}
    got = answers(app, alice, body)
    assert {(status, resp["error"]["code"]) for status, resp in got} == {(422, "no_liquidity")}


def test_concurrent_retries_of_an_accepted_order_name_the_one_order(app, client, register):
    alice = register("alice")
    got = answers(app, alice, {"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": 1,
                               "client_order_id": "one"})
    assert sorted(status for status, _ in got) == [200] * 23 + [201]
    assert len({body["order_id"] for _, body in got}) == 1
    assert all(body["status"] == "new" for _, body in got)  # never a phantom 'pending'
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["on_hold"] == "1.00"


def test_a_submitter_killed_after_its_hold_leaves_an_id_that_reconcile_resolves(app, client, register,
                                                                                 redis_client, settings):
    alice = register("alice")
    with subprocess.Popen([sys.executable, "-c", KILLED_AFTER_HOLD, settings.redis_url, alice.user_id],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True) as crasher:
        assert crasher.stdout.readline().strip() == "held"
        crasher.send_signal(signal.SIGKILL)
    retry = {"symbol": "KRYP", "side": "buy", "price": "2.00", "quantity": 1, "client_order_id": "crashed"}
    assert client.post(ORDERS, json=retry, headers=alice).status_code == 202  # on its way, for all we know

    void_orphan_holds(redis_client, settings, grace_ms=0)
    for _ in range(3):  # from then on, one answer: the order was voided, nothing was placed
        again = client.post(ORDERS, json=retry, headers=alice)
        assert again.status_code == 422 and again.json["error"]["code"] == "order_voided"
    order_id = redis_client.get(keys.client_order_id(alice.user_id, "crashed"))
    assert order_id is not None


# Order entry in a process of its own that stops for good right after the hold.
KILLED_AFTER_HOLD = """
import sys, time, redis
from exchange.config import Settings
from exchange.scripts import Scripts
from ledger.accounts import Accounts
from orderbook.entry import OrderEntry
from orderbook.schemas import PlaceOrder

client = redis.Redis.from_url(sys.argv[1])
scripts = Scripts(client)
entry = OrderEntry(Settings(redis_url=sys.argv[1], order_wait_ms=300), client, Accounts(client, scripts), scripts)
entry.after_hold = lambda order: (print("held", flush=True), time.sleep(3600))
entry.place(sys.argv[2], PlaceOrder(symbol="KRYP", side="buy", price="2.00", quantity=1, client_order_id="crashed"))
"""
