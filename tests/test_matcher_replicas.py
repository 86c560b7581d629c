"""MATCHER_REPLICAS: matcher processes share the symbols out. With S symbols and N live matchers
each symbol has exactly one active matcher (it holds the lock and matches the book) and none has
more than ceil(S/N); a matcher killed with SIGKILL has its symbols taken over within the lock's
TTL plus one second, and the survivor matches them.

Real processes on a real Redis: an API replica and three matchers; who serves what is read from
each matcher's /metrics (exchange_matcher_serving).
"""
from __future__ import annotations

import math
import time

import requests

from tests.polling import wait_for
from tests.stack import start_stack
from tests.test_metrics import scrape

SYMBOLS = ("KRYP", "ADAM", "PUPS", "GOLD", "OILS", "CORN", "WHEY")
LOCK_TTL_S = 2.0
MATCHERS = ("matcher-1", "matcher-2", "matcher-3")


def serving(stack, matchers) -> dict[str, set[str]]:
    """Each matcher's symbols: those whose lock it holds."""
    return {name: {labels["symbol"] for labels, value in scrape(stack.metrics[name]).get("exchange_matcher_serving",
                                                                                           []) if value == 1}
            for name in matchers}


def evenly_served(stack, matchers) -> dict[str, set[str]] | None:
    try:
        shares = serving(stack, matchers)
    except requests.ConnectionError:  # a matcher still starting
        return None
    served = [symbol for share in shares.values() for symbol in share]
    ceiling = math.ceil(len(SYMBOLS) / len(matchers))
    if sorted(served) == sorted(SYMBOLS) and all(len(share) <= ceiling for share in shares.values()):
        return shares
    return None


def batches(stack, name: str, symbol: str) -> float:
    return sum(value for labels, value in scrape(stack.metrics[name]).get("exchange_matcher_batches_total", [])
               if labels["symbol"] == symbol)


def test_matchers_share_the_symbols_and_survivors_take_over_a_killed_ones(tmp_path):
    env = {"SYMBOLS": ",".join(SYMBOLS), "LOCK_TTL_MS": str(int(LOCK_TTL_S * 1000)), "RATE_LIMIT": ""}
    with start_stack(replicas=1, workers=("matcher",), matchers=len(MATCHERS), env=env) as stack:
        shares = wait_for(lambda: evenly_served(stack, MATCHERS), "every symbol served, at most 3 a matcher")
        assert sorted(len(share) for share in shares.values()) == [2, 2, 3]
        time.sleep(LOCK_TTL_S)  # and it stays so: nobody hands a symbol back and forth
        assert serving(stack, MATCHERS) == shares

        killed = next(proc for proc in stack.workers if proc.name == "matcher-2")
        killed.kill()
        orphaned = shares["matcher-2"]
        survivors = ("matcher-1", "matcher-3")
        killed_at = time.monotonic()
        after = wait_for(lambda: evenly_served(stack, survivors), "the survivors serving every symbol",
                         timeout=10, every_s=0.05)
        took_s = time.monotonic() - killed_at
        print(f"matcher-2's {sorted(orphaned)} taken over in {took_s:.2f} s (lock TTL {LOCK_TTL_S} s)")
        assert took_s <= LOCK_TTL_S + 1.0

        user = requests.post(f"{stack.base_url}/api/v1/users", json={"username": "replicas",
                                                                     "password": "correct horse battery"}).json()
        headers = {"Authorization": f"Bearer {user['token']}"}
        for symbol in orphaned:
            owner = next(name for name, share in after.items() if symbol in share)
            before = batches(stack, owner, symbol)
            placed = requests.post(f"{stack.base_url}/api/v1/orders", headers=headers, timeout=10, json={
                "symbol": symbol, "side": "buy", "price": "1.00", "quantity": 1})
            assert placed.status_code == 201, placed.text
            wait_for(lambda owner=owner, symbol=symbol, before=before: batches(stack, owner, symbol) > before,
                     f"{owner} matching {symbol}")


def test_make_up_runs_matcher_replicas_matchers_each_with_its_metrics_port(tmp_path):
    from devstack.config import StackConfig
    from devstack.up import Layout, plan

    layout = Layout(tmp_path)
    layout.create()
    base = {"EXCHANGE_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0",
            "MONGO_URL": "mongodb://127.0.0.1:1/", "WEB_REPLICAS": "0"}
    for replicas, names in (("1", ["matcher"]), ("3", ["matcher-1", "matcher-2", "matcher-3"])):
        stack, _env, chosen = plan(StackConfig.from_env({**base, "MATCHER_REPLICAS": replicas}), layout)
        matchers = [program for program in stack if program.name.startswith("matcher")]
        assert [program.name for program in matchers] == names
        assert all("orderbook.worker" in program.command for program in matchers)
        assert len({chosen["metrics"][name] for name in names}) == len(names)
