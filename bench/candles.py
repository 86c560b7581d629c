"""The ticker under a sustained engine load: trades/s it absorbs and its lag behind the engine.

The engine benchmark's flow runs with a standing matcher and a ticker worker;
a monitor samples the ticker's cursor, and a trade's lag is the time from its
journal entry to the first sample showing it folded into the candles. A second
phase stops the ticker, lets a backlog build, and times a restarted one
clearing it: the rate it can absorb.

    python bench/candles.py [--seconds 10] [--submitters 8]
"""
from __future__ import annotations

import argparse
import threading
import time

from common import cursor_sequence, fund_accounts, lags, percentile, run_processes

SYMBOL = "KRYP"


def sample_cursor(client, stop: threading.Event, samples: list) -> None:
    from exchange import keys

    while not stop.is_set():
        samples.append((time.time() * 1000, cursor_sequence(client, SYMBOL, keys.ticker_cursor(SYMBOL))))
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
        fund_accounts(client, [f"bench-{i}" for i in range(args.submitters)], (SYMBOL,))
        procs.append(python_module("orderbook.worker", env=env))
        ticker = python_module("ticker.worker", env=env)
        procs.append(ticker)
        stop, samples = threading.Event(), []
        monitor = threading.Thread(target=sample_cursor, args=(client, stop, samples))
        monitor.start()
        results = run_processes(engine.submitter, args.submitters, (redis_server.port, args.seconds, 1))
        end_seq = int(client.get(keys.seq(SYMBOL)))
        deadline = time.time() + 60
        while samples[-1][1] < end_seq and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        monitor.join()
        journal = [orjson.loads(f[b"event"]) for _id, f in client.xrange(keys.events(SYMBOL))]
        trades = [(e["sequence"], e["time"]) for e in journal if e["type"] == "trade"]
        orders = sum(r["limit"] + r["market"] + r["cancel"] for r in results)
        lag = lags(trades, samples, 1)
        print(f"load: {orders / args.seconds:,.0f} orders/s, {len(trades) / args.seconds:,.0f} trades/s "
              f"({len(trades):,} trades, {len(journal):,} journal events) for {args.seconds:.0f}s")
        print(f"ticker lag behind the engine: p50 {percentile(lag, 50):.0f} ms, p99 {percentile(lag, 99):.0f} ms "
              f"over {len(lag):,} trades")

        ticker.stop()
        run_processes(engine.submitter, args.submitters, (redis_server.port, args.seconds, 2))
        backlog_from = cursor_sequence(client, SYMBOL, keys.ticker_cursor(SYMBOL))
        end_seq = int(client.get(keys.seq(SYMBOL)))
        backlog_trades = sum(1 for _id, f in client.xrange(keys.events(SYMBOL))
                             if int(f[b"sequence"]) > backlog_from and b'"type":"trade"' in f[b"event"])
        started = time.time()
        procs.append(python_module("ticker.worker", env=env))
        while cursor_sequence(client, SYMBOL, keys.ticker_cursor(SYMBOL)) < end_seq and time.time() - started < 120:
            time.sleep(0.02)
        took = time.time() - started
        print(f"capacity: a restarted ticker folded a backlog of {backlog_trades:,} trades "
              f"({end_seq - backlog_from:,} journal events) in {took:.2f}s = {backlog_trades / took:,.0f} trades/s "
              f"({(end_seq - backlog_from) / took:,.0f} events/s)")
        mongo.close_all()
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
