"""A Redis Cluster primary restarted while the seeded flow (tests/cluster_flow.py) runs on it.

The primary serving the most symbols is stopped (SIGTERM: it writes its append-only file) and
started again halfway through the flow, with four submitters still sending. The clients do what
a client should with a 503 or a dropped connection: send the same request again, the same client
order id with it. Afterwards:
- every order the exchange acknowledged is there, no earlier in its life than it was answered;
  every cancel it acknowledged stands;
- no client order id placed two orders, no fill is doubled, every order's fills add up to what it
  says it filled, and no book is crossed;
- once reconciliation voids the holds whose order never reached a book and every open order is
  canceled, nothing is left on hold, and ``python -m ledger check`` says OK.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal

import pytest
import redis

from devstack.procs import ROOT, cluster_ok
from tests.cluster_flow import SYMBOLS, USERS, Run, submit, wait_settled
from tests.polling import wait_for
from tests.stack import start_stack
from tests.test_cluster import ENV, SEED, restart

DONE = {"filled", "canceled", "rejected"}


def _ledger(command: str, env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "ledger", command, *args], capture_output=True, text=True,
                          env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0 and "ledger check: OK" in done.stdout, done.stdout + done.stderr
    return done.stdout


def _orders_and_fills(run: Run) -> tuple[dict, dict]:
    """Every user's orders by client order id, and each order's filled quantity by its fills."""
    orders: dict[str, dict] = {}
    filled: Counter = Counter()
    for user in USERS:
        listed = run.api("GET", "/orders", user, params={"status": "all", "limit": 1000}).json()["orders"]
        coids = Counter(order["client_order_id"] for order in listed)
        assert max(coids.values()) == 1, coids.most_common(3)  # no client order id placed two orders
        orders |= {order["client_order_id"]: order for order in listed}
        for fill in run.api("GET", "/fills", user, params={"limit": 1000}).json()["fills"]:
            filled[fill["order_id"]] += fill["quantity"]
    return orders, filled


def _check_acknowledged(run: Run, orders: dict, filled: Counter) -> None:
    for coid, (status, answered) in run.answers.items():
        if status not in (200, 201):
            continue
        order = orders.get(coid)
        assert order is not None, f"{coid} was acknowledged ({answered}) and is gone"
        if answered in DONE:
            assert order["status"] == answered, (coid, answered, order)
    for coid, status in run.cancels.items():
        if status == 200:
            assert orders[coid]["status"] == "canceled", orders[coid]
    for order in orders.values():
        assert filled[order["order_id"]] == order["filled_quantity"], order
    trades = [trade for s in SYMBOLS for trade in run.api("GET", f"/trades/{s}", params={"limit": 1000}).json()["trades"]]
    assert len({trade["trade_id"] for trade in trades}) == len(trades)
    assert sum(filled.values()) == 2 * sum(trade["quantity"] for trade in trades)  # a buyer's fill and a seller's
    for symbol in SYMBOLS:
        book = run.api("GET", f"/book/{symbol}", params={"depth": 1}).json()
        if book["bids"] and book["asks"]:
            assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0]), book


def _nothing_on_hold(run: Run) -> bool:
    return all(balance["on_hold"] in (0, "0.00") for user in USERS
               for balance in run.api("GET", "/account", user).json()["balances"].values())


@pytest.mark.timeout(600)
def test_a_primary_restarted_under_the_flow_loses_nothing_acknowledged():
    with start_stack(replicas=2, matchers=2, env=ENV, redis_cluster=3) as clustered:
        nodes = clustered.servers[:3]
        client = redis.RedisCluster(host="127.0.0.1", port=nodes[0].port)
        serving = Counter(client.get_node_from_key(f"ob:{{{s}}}:seq").port for s in SYMBOLS)
        busiest = next(node for node in nodes if node.port == serving.most_common(1)[0][0])

        outage: list[float] = []

        def restart_busiest() -> None:
            outage.append(time.monotonic())
            clustered.servers[clustered.servers.index(busiest)] = restart(busiest)
            outage.append(time.monotonic())

        run = Run(clustered.base_url, retrying=True)
        submit(run, SEED, between=restart_busiest)
        assert any(began < outage[1] and ended > outage[0] for began, ended in run.spans), "nothing met the restart"
        wait_for(lambda: all(cluster_ok(node.port) for node in nodes), "the restarted primary back in the cluster")
        wait_settled(run)
        orders, filled = _orders_and_fills(run)
        _check_acknowledged(run, orders, filled)
        acknowledged = sum(status in (200, 201) for status, _answer in run.answers.values())
        print(f"\nrestart under the flow: {run.unavailable} requests sent again, {acknowledged} of "
              f"{len(run.answers)} orders acknowledged, {sum(filled.values()) // 2} shares traded")

        print(_ledger("reconcile", clustered.child_env, "--grace-ms", "0"))
        for user in USERS:
            for symbol in SYMBOLS:
                assert run.api("DELETE", "/orders", user, params={"symbol": symbol}).status_code == 200
        wait_for(lambda: _nothing_on_hold(run), "every hold released", timeout=60)
        wait_settled(run)
        _ledger("check", clustered.child_env)
