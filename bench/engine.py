"""Engine throughput without HTTP: a mixed flow on one symbol from 8 concurrent submitters.

Each submitter is a process calling the order-entry library exactly as the API
does (hold, inbox, match under the Redlock, reply). Printed beside it: the
rate of a trivial EVALSHA from the same number of clients on the same Redis,
measured in the same run. The goal is a ratio to it: >= 0.25 x the EVAL rate (machines
differ by 3x or more, so no absolute figure is a goal).

With --threads N each submitter process runs N threads, a user each, sharing one order entry
as an API process's request threads do.

    python bench/engine.py [--seconds 10] [--submitters 8] [--threads 1]
"""
from __future__ import annotations

import argparse
import random
import time

import results
from results import Figure

from common import fund_accounts, measure_eval_rate, process_cpu_s, redis_cpu_s, run_processes, sleep_until

SYMBOL = "KRYP"
MID = 10_000  # $100.00 in ticks
# Each submitter is one user whose flow rests thousands of orders: the open-order cap (a
# guard against one user filling the book) is lifted, so the flow is the same from run to run.
UNCAPPED = 10**9


def submitter(index: int, start_at: float, queue, redis_port: int, seconds: float, seed: int,
              threads: int = 1) -> None:
    """One process: ``threads`` threads, one user each, sharing one OrderEntry as an API process's
    request threads do."""
    import threading

    import redis

    from exchange.config import Settings
    from exchange.scripts import Scripts
    from ledger.accounts import Accounts
    from orderbook.entry import OrderEntry

    # Each user places far more than ORDER_RATE_LIMIT allows a person.
    settings = Settings(redis_url=f"redis://127.0.0.1:{redis_port}/0", symbols=(SYMBOL,),
                        max_open_orders=UNCAPPED, order_rate=None)
    client = redis.Redis(port=redis_port)
    scripts = Scripts(client)
    entry = OrderEntry(settings, client, Accounts(client, scripts), scripts)
    users = [index * threads + number for number in range(threads)]
    per_thread = [{"limit": 0, "market": 0, "cancel": 0, "rejected": 0} for _ in users]
    flows = [threading.Thread(target=flow, args=(entry, user, random.Random(seed + user), start_at, seconds, counts))
             for user, counts in zip(users, per_thread)]
    sleep_until(start_at)
    cpu_start = time.process_time()
    for thread in flows:
        thread.start()
    for thread in flows:
        thread.join()
    totals = {name: sum(counts[name] for counts in per_thread) for name in per_thread[0]}
    queue.put({**totals, "cpu_s": time.process_time() - cpu_start})


def flow(entry, user: int, rng: random.Random, start_at: float, seconds: float, counts: dict) -> None:
    """One user's orders until ``seconds`` are up: mostly passive limits, some crossing, some market
    orders, and cancels of its own open orders."""
    from orderbook.errors import ApiError
    from orderbook.schemas import PlaceOrder

    user_id = f"bench-{user}"
    open_orders: list[str] = []
    sleep_until(start_at)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        roll = rng.random()
        try:
            if roll < 0.2 and open_orders:
                entry.cancel(user_id, open_orders.pop(rng.randrange(len(open_orders))))
                counts["cancel"] += 1
                continue
            side = rng.choice(("buy", "sell"))
            if roll < 0.3:
                body = PlaceOrder(symbol=SYMBOL, side=side, type="market", quantity=rng.randint(1, 5))
                counts["market"] += 1
            else:
                offset = rng.randint(-5, 20)  # mostly passive, sometimes crossing
                ticks = MID - offset if side == "buy" else MID + offset
                body = PlaceOrder(symbol=SYMBOL, side=side, price=f"{ticks // 100}.{ticks % 100:02d}",
                                  quantity=rng.randint(1, 10))
                counts["limit"] += 1
            _status, order = entry.place(user_id, body)
            if order.get("status") in ("new", "partially_filled"):
                open_orders.append(order["order_id"])
        except ApiError as err:  # no_liquidity, order_not_open after a fill: part of a real flow
            counts["rejected"] += 1 if err.code else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--submitters", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per submitter process, a user each, sharing the process's order entry")
    parser.add_argument("--no-worker", dest="worker", action="store_false",
                        help="no standing matcher: submitters take the lock themselves")
    args = parser.parse_args()

    import redis

    from devstack.procs import python_module, start_redis
    from exchange import journal, keys

    server = start_redis()
    try:
        client = redis.Redis(port=server.port)
        eval_rate = measure_eval_rate(server.port, args.submitters, args.seconds)
        client.flushall()
        fund_accounts(client, [f"bench-{i}" for i in range(args.submitters * args.threads)], (SYMBOL,))
        worker = python_module("orderbook.worker", env={"REDIS_URL": f"redis://127.0.0.1:{server.port}/0",
                                                         "SYMBOLS": SYMBOL, "MAX_OPEN_ORDERS": str(UNCAPPED)}
                               ) if args.worker else None
        matcher_cpu_s, redis_cpu_start = process_cpu_s(worker.pid) if worker else 0.0, redis_cpu_s(client)
        try:
            results = run_processes(submitter, args.submitters, (server.port, args.seconds, args.seed, args.threads))
            if worker is not None:
                matcher_cpu_s = process_cpu_s(worker.pid) - matcher_cpu_s
            redis_cpu = redis_cpu_s(client) - redis_cpu_start
        finally:
            if worker is not None:
                worker.stop()
        totals = {k: sum(r[k] for r in results) for k in results[0]}
        trades = sum(isinstance(event, journal.TradeEvent)
                     for _id, event in journal.read_entries(client.xrange(keys.events(SYMBOL))))
        report(args, totals, trades, eval_rate, {"submitters": totals["cpu_s"], "matcher": matcher_cpu_s,
                                                 "redis": redis_cpu})
    finally:
        server.stop()


def report(args, totals: dict, trades: int, eval_rate: float, cpu_s: dict[str, float]) -> None:
    orders = totals["limit"] + totals["market"] + totals["cancel"]
    rate = orders / args.seconds
    mode = "a standing matcher" if args.worker else "no standing matcher"
    if args.threads > 1:
        mode += f", {args.threads} threads each"
    print(f"engine: {rate:,.0f} orders/s over {args.seconds:.0f}s with {args.submitters} submitters and {mode} "
          f"(limit {totals['limit']:,}, market {totals['market']:,}, cancel {totals['cancel']:,}, "
          f"refused {totals['rejected']:,}; {trades:,} trades)")
    per_order_us = {name: 1e6 * cpu / max(orders, 1) for name, cpu in cpu_s.items()}
    print("CPU per order: " + ", ".join(f"{name} {us:,.0f} µs" for name, us in per_order_us.items()))
    print(f"baseline: {eval_rate:,.0f} trivial EVALSHA/s from {args.submitters} clients on the same Redis")
    ratio = rate / eval_rate
    print(f"ratio: {ratio:.3f} x EVAL rate (goal >= 0.25: {'met' if ratio >= 0.25 else 'NOT met'})")
    results.save("engine", [Figure(f"engine, {mode}", rate, "orders/s", "trivial EVALSHA", eval_rate)],
                 notes={"cpu_per_order_us": per_order_us, "trades": trades, "submitters": args.submitters})


if __name__ == "__main__":
    main()
