"""Settlement under a sustained engine load: trades/s settled and the lag from match to settled.

The engine benchmark's flow (8 submitter processes and a standing matcher on
one symbol) runs while the ledger worker settles the journal into the live
Redis accounts and into the embedded MongoDB-wire server (SecantusDB). A
monitor samples both settlement cursors; a trade's lag is the time from its
journal entry to the first sample that shows it settled. A second phase stops
the worker, lets a backlog build, and times how fast a restarted worker clears it.

    python bench/settlement.py [--seconds 10] [--submitters 8]
"""
from __future__ import annotations

import argparse
import threading
import time

from common import cursor_sequence, fund_accounts, lags, percentile, run_processes

SYMBOL = "KRYP"


def sample_cursors(client, db, stop: threading.Event, samples: list) -> None:
    from exchange import keys, mongo

    while not stop.is_set():
        now_ms = time.time() * 1000
        record = db[mongo.CURSORS].find_one({"_id": SYMBOL})
        live = cursor_sequence(client, SYMBOL, keys.settled_cursor(SYMBOL))
        samples.append((now_ms, live, record["sequence"] if record else 0))
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--submitters", type=int, default=8)
    args = parser.parse_args()

    import orjson
    import redis

    import engine
    from devstack.procs import python_module, start_mongo, start_redis
    from exchange import keys, mongo

    redis_server, mongo_server = start_redis(), start_mongo()
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0", "SYMBOLS": SYMBOL,
           "MONGO_URL": f"mongodb://127.0.0.1:{mongo_server.port}/?directConnection=true"}
    procs = [redis_server, mongo_server]
    try:
        client = redis.Redis(port=redis_server.port)
        db = mongo.database(env["MONGO_URL"], "exchange")
        fund_accounts(client, [f"bench-{i}" for i in range(args.submitters)], (SYMBOL,))
        procs.append(python_module("orderbook.worker", env=env))
        ledger = python_module("ledger.worker", env=env)
        procs.append(ledger)
        stop, samples = threading.Event(), []
        monitor = threading.Thread(target=sample_cursors, args=(client, db, stop, samples))
        monitor.start()
        results = run_processes(engine.submitter, args.submitters, (redis_server.port, args.seconds, 1))
        end_seq = int(client.get(keys.seq(SYMBOL)))
        deadline = time.time() + 120
        while samples[-1][2] < end_seq and time.time() < deadline:
            time.sleep(0.1)
        stop.set()
        monitor.join()
        journal = [orjson.loads(f[b"event"]) for _id, f in client.xrange(keys.events(SYMBOL))]
        trades = [(e["sequence"], e["time"]) for e in journal if e["type"] == "trade"]
        orders = sum(r["limit"] + r["market"] + r["cancel"] for r in results)
        live, record = lags(trades, samples, 1), lags(trades, samples, 2)
        print(f"load: {orders / args.seconds:,.0f} orders/s, {len(trades) / args.seconds:,.0f} trades/s "
              f"({len(trades):,} trades, {len(journal):,} journal events) for {args.seconds:.0f}s")
        print(f"lag match -> settled, live accounts (Redis): p50 {percentile(live, 50):.0f} ms, "
              f"p99 {percentile(live, 99):.0f} ms over {len(live):,} trades")
        print(f"lag match -> settled, ledger of record (SecantusDB): p50 {percentile(record, 50):.0f} ms, "
              f"p99 {percentile(record, 99):.0f} ms over {len(record):,} trades (target p99 < 1000 ms)")

        # Phase 2: capacity. Let a backlog build with the worker stopped, then time a fresh one clearing it.
        ledger.stop()
        results = run_processes(engine.submitter, args.submitters, (redis_server.port, args.seconds, 2))
        backlog_from = db[mongo.CURSORS].find_one({"_id": SYMBOL})["sequence"]
        end_seq = int(client.get(keys.seq(SYMBOL)))
        backlog = [e for e in (orjson.loads(f[b"event"]) for _id, f in client.xrange(keys.events(SYMBOL)))
                   if e["sequence"] > backlog_from]
        started = time.time()
        procs.append(python_module("ledger.worker", env=env))
        while (db[mongo.CURSORS].find_one({"_id": SYMBOL})["sequence"] < end_seq
               and time.time() - started < 300):
            time.sleep(0.05)
        took = time.time() - started
        backlog_trades = sum(e["type"] == "trade" for e in backlog)
        print(f"capacity: a restarted worker settled a backlog of {backlog_trades:,} trades "
              f"({len(backlog):,} events) in {took:.1f}s = {backlog_trades / took:,.0f} trades/s "
              f"({len(backlog) / took:,.0f} events/s) into both stores")
        mongo.close_all()
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
