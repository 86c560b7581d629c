"""An idle ledger worker waits on the journals with one blocking read, instead of polling each
symbol's journal every few milliseconds, and still settles what comes next in both stores."""
from __future__ import annotations

import threading

import redis
import requests

from exchange import keys
from exchange.streams import wait_past
from tests.polling import wait_for
from tests.stack import start_stack

POLLING_COMMANDS = ("xrange", "xautoclaim", "xreadgroup", "get")
SYMBOLS = ("KRYP", "ADAM", "PUPS")


def test_a_wait_returns_once_a_stream_goes_past_its_entry_and_not_before(redis_client):
    first = redis_client.xadd("s1", {"n": 1})
    wait_past(redis_client, {"s1": b"0-0"}, 30.0, 0.01)  # an entry is already past: at once
    returned = threading.Event()
    waiting = threading.Thread(target=lambda: (wait_past(redis_client, {"s1": first, "s2": b"0-0"}, 30.0, 0.01),
                                               returned.set()))
    waiting.start()
    assert not returned.wait(0.3)  # nothing past either entry yet: still waiting
    redis_client.xadd("s2", {"n": 2})
    waiting.join(timeout=10)
    assert returned.is_set()  # well before its 30 s


def calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in (*POLLING_COMMANDS, "xread")}


def test_an_idle_ledger_worker_blocks_on_the_journals_and_settles_what_comes_next():
    with start_stack(replicas=1, workers=("matcher", "ledger-worker")) as stack:
        base = f"{stack.base_url}/api/v1"
        client = redis.Redis.from_url(stack.redis_url)
        users = [requests.post(f"{base}/users", json={"username": name, "password": "correct horse"},
                               timeout=10).json() for name in ("idle_seller", "idle_buyer")]
        # The record loop makes each journal's consumer group (and so the stream) on its first pass.
        wait_for(lambda: all(client.exists(keys.events(s)) for s in SYMBOLS), "the worker's first passes")

        def idle_for(seconds: float) -> dict[str, int]:
            before = calls(client)
            threading.Event().wait(seconds)
            after = calls(client)
            return {name: after[name] - before[name] for name in after}

        idle = idle_for(2.0)
        # Polling every 20 ms, 3 symbols: about 300 reads a second by each of the live and record
        # loops. Waiting, each loop reads once per wake (at most every 0.5 s) and the archive's
        # poll (every 0.2 s) remains.
        assert idle["xread"] > 0, idle
        assert idle["xautoclaim"] + idle["xreadgroup"] < 60 and idle["xrange"] < 120, idle
        for user, side in zip(users, ("sell", "buy")):
            placed = requests.post(f"{base}/orders", headers={"Authorization": f"Bearer {user['token']}"},
                                   timeout=10, json={"symbol": "KRYP", "side": side, "price": "5.00", "quantity": 3})
            assert placed.status_code == 201, placed.text
        seller, buyer = users
        wait_for(lambda: int(client.hget(keys.account(buyer["user_id"]), "KRYP:available") or 0)
                 == int(client.hget(keys.account(seller["user_id"]), "KRYP:available") or 0) + 6,
                 "the trade settled in the live accounts")
        fills = wait_for(lambda: requests.get(f"{base}/fills", headers={"Authorization": f"Bearer {buyer['token']}"},
                                              timeout=10).json()["fills"], "the trade settled in the ledger of record")
        assert [(f["side"], f["quantity"]) for f in fills] == [("buy", 3)]
