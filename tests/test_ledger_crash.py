"""Crash tests with real processes: the settlement worker and order entry killed with SIGKILL."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time

import orjson
import pytest
import redis
import requests

from devstack import programs
from devstack.procs import ROOT, Proc
from exchange import keys, mongo
from ledger.archive import archived_position
from tests.polling import wait_for
from tests.stack import start_stack

SYMBOLS = ("KRYP", "ADAM", "PUPS")


def ledger_command(stack, command: str, *extra: str) -> subprocess.CompletedProcess:
    env = {"REDIS_URL": stack.redis_url, "MONGO_URL": stack.mongo_url, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "ledger", command, *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def register(stack, count: int) -> list[dict]:
    users = []
    for i in range(count):
        resp = requests.post(f"{stack.base_url}/api/v1/users", json={"username": f"trader{i}",
                                                                         "password": "correct horse"})
        resp.raise_for_status()
        users.append(resp.json())
    return users


def load(stack, users, stop: threading.Event, seed: int, placed: list) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    while not stop.is_set():
        user = rng.choice(users)
        body = {"symbol": rng.choice(SYMBOLS[:2]), "side": rng.choice(("buy", "sell")),
                "price": f"{rng.randint(98, 102) / 10:.2f}", "quantity": rng.randint(1, 3),
                "time_in_force": rng.choice(("GTC", "IOC"))}
        resp = session.post(f"{stack.base_url}/api/v1/orders", json=body,
                            headers={"Authorization": f"Bearer {user['token']}"}, timeout=30)
        assert resp.status_code in (201, 422), resp.text
        placed.append(resp.status_code)


def restart_ledger_worker(stack) -> Proc:
    env = {"REDIS_URL": stack.redis_url, "MONGO_URL": stack.mongo_url}
    worker = Proc(programs.worker_command("ledger.worker"), env=env, log_dir=stack.work_dir / "logs",
                  name="ledger-worker")
    stack.workers.append(worker)
    return worker


def journal_trades(client: redis.Redis) -> int:
    return sum(b'"type":"trade"' in fields[b"event"] for s in SYMBOLS for _id, fields in client.xrange(keys.events(s)))


@pytest.mark.timeout(300)
def test_settlement_worker_killed_ten_times_under_load_settles_every_trade_once():
    with start_stack(replicas=2, env={"RATE_LIMIT": ""}) as stack:
        users = register(stack, 6)
        stop, placed = threading.Event(), []
        threads = [threading.Thread(target=load, args=(stack, users, stop, seed, placed)) for seed in range(4)]
        for thread in threads:
            thread.start()
        rng = random.Random(11)
        kills = 0
        try:
            for _ in range(10):
                time.sleep(rng.uniform(0.3, 1.0))
                worker = next(w for w in stack.workers if w.name == "ledger-worker" and w.popen.poll() is None)
                worker.kill(signal.SIGKILL)
                worker.popen.wait()
                kills += 1
                restart_ledger_worker(stack)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert kills == 10 and len(placed) > 100
        result = ledger_command(stack, "check")
        assert result.returncode == 0, result.stdout + result.stderr
        client = redis.Redis.from_url(stack.redis_url)
        db = mongo.database(stack.mongo_url, "exchange")
        trades = journal_trades(client)
        assert trades > 20
        assert db[mongo.TRADES].count_documents({}) == trades  # every trade settled exactly once
        assert all(t["user_ids"] == [t["buyer_id"], t["seller_id"]] for t in db[mongo.TRADES].find())  # its fills
        assert_archive_holds_the_journal_once(client, db)
        mongo.close_all()


def assert_archive_holds_the_journal_once(client: redis.Redis, db) -> None:
    """The worker archives as it settles: killed mid-archive, it neither lost nor doubled an event."""
    def caught_up() -> bool:
        return all(archived_position(db, s).sequence == int(client.get(keys.seq(s)) or 0) for s in SYMBOLS)

    wait_for(caught_up, timeout=30, what="the archive to catch up with the journal")
    for symbol in SYMBOLS:
        journal = [orjson.loads(fields[b"event"]) for _id, fields in client.xrange(keys.events(symbol))]
        buckets = db[mongo.EVENTS].find({"symbol": symbol}).sort("first_sequence", 1)
        assert [event for bucket in buckets for event in bucket["events"]] == journal


@pytest.mark.timeout(300)
def test_order_entry_killed_between_hold_and_book_leaves_holds_that_reconcile_releases():
    with start_stack(replicas=1, env={"RATE_LIMIT": ""}) as stack:
        users = register(stack, 3)
        client = redis.Redis.from_url(stack.redis_url)
        rng = random.Random(5)
        for attempt in range(10):
            crasher = Proc([sys.executable, "-m", "tests.entry_crasher", stack.redis_url,
                            *[u["user_id"] for u in users]], log_dir=stack.work_dir / "logs",
                           name=f"crasher-{attempt}")  # a log of its own: "placing" is this one's
            deadline = time.monotonic() + 60
            while "placing" not in crasher.log() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.3, 0.8))
            crasher.kill(signal.SIGKILL)
            crasher.stop()
        orphans = [(u["user_id"], f.decode()) for u in users
                   for f in client.hkeys(keys.account(u["user_id"])) if f.startswith(b"hold:")
                   and not client.hexists(keys.orders("KRYP"), f.decode().split(":")[1])]
        assert orphans, "killing entry between hold and queue should have left holds behind"

        before = ledger_command(stack, "check")
        assert "waiting for its order" in before.stdout
        repaired = ledger_command(stack, "reconcile", "--grace-ms", "0")
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert repaired.stdout.count("never reached the book") == len(orphans)
        after = ledger_command(stack, "check")
        assert after.returncode == 0 and "waiting for its order" not in after.stdout, after.stdout
        for user in users:
            balances = requests.get(f"{stack.base_url}/api/v1/account",
                                    headers={"Authorization": f"Bearer {user['token']}"}).json()["balances"]
            open_orders = requests.get(f"{stack.base_url}/api/v1/orders?symbol=KRYP",
                                       headers={"Authorization": f"Bearer {user['token']}"}).json()["orders"]
            assert balances["KRYP"]["on_hold"] == sum(o["remaining_quantity"] for o in open_orders
                                                      if o["side"] == "sell")
