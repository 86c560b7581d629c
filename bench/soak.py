"""Cost growth: 200,000 orders through the engine while the ledger worker archives and forgets.

The engine flow (submitter processes calling order entry as the API does, a
standing matcher) runs slice after slice, with the ledger worker (settlement,
the archive, done orders leaving Redis after ORDER_ARCHIVE_AFTER_S=1) and the
ticker beside it, as `make up` runs them. Each submitter keeps at most 40 orders
open, so the live book stays the same size and only history could make Redis
grow. After every slice it prints orders/s and the archive's lag (journal
sequence minus archived sequence) at its end, then waits until the archive and
the forgetting have caught up (printing how long that took) and reads Redis
used_memory. Goal: memory flat after warm-up, the last slice within 10 % of the
second.

Then the same flow is timed on a book with 100 resting orders and on one with
100,000 (placed far from the touch, where the flow never trades), in the same
run. Goal: >= 0.8 x.

    python bench/soak.py [--orders 200000] [--slice 20000] [--submitters 4] [--resting 100000]
"""
from __future__ import annotations

import argparse
import random
import time

import results
from results import Figure

from common import fund_accounts, run_processes, sleep_until
from flow import SYMBOL, EngineFlow

MID = 10_000  # $100.00 in ticks
OPEN_CAP = 40  # orders a submitter keeps open at most
UNCAPPED = 10**9


def entry_for(redis_port: int):
    import redis

    from exchange.config import Settings
    from exchange.scripts import Scripts
    from ledger.accounts import Accounts
    from orderbook.entry import OrderEntry

    settings = Settings(redis_url=f"redis://127.0.0.1:{redis_port}/0", symbols=(SYMBOL,),
                        max_open_orders=UNCAPPED, order_rate=None)
    client = redis.Redis(port=redis_port)
    scripts = Scripts(client)
    return OrderEntry(settings, client, Accounts(client, scripts), scripts)


def submitter(index: int, start_at: float, queue, redis_port: int, count: int, seed: int) -> None:
    """``count`` orders near the mid (a third IOC), cancelling the oldest past OPEN_CAP open;
    its last orders cancel what it still has open. Reports (orders, seconds)."""
    from orderbook.errors import ApiError
    from orderbook.schemas import PlaceOrder

    entry, rng, user_id, open_ids = entry_for(redis_port), random.Random(seed * 100 + index), f"bench-{index}", []
    sleep_until(start_at)
    started = time.perf_counter()
    for placed in range(count):
        try:
            if open_ids and (len(open_ids) >= OPEN_CAP or count - placed <= len(open_ids)):
                entry.cancel(user_id, open_ids.pop(0))
                continue
            side = rng.choice(("buy", "sell"))
            ticks = MID + (rng.randint(-3, 6) if side == "sell" else -rng.randint(-3, 6))
            _status, order = entry.place(user_id, PlaceOrder(
                symbol=SYMBOL, side=side, price=f"{ticks // 100}.{ticks % 100:02d}", quantity=rng.randint(1, 9),
                time_in_force=rng.choice(("GTC", "GTC", "IOC"))))
            if order.get("status") in ("new", "partially_filled"):
                open_ids.append(order["order_id"])
        except ApiError:  # order_not_open: it filled meanwhile
            pass
    queue.put((count, time.perf_counter() - started))


def rest_far(index: int, start_at: float, queue, redis_port: int, count: int) -> None:
    """``count`` resting orders from $95.00 down and from $105.00 up, 20 to a batch."""
    from orderbook.order_batch import place_batch
    from orderbook.schemas import PlaceOrder

    entry = entry_for(redis_port)
    sleep_until(start_at)
    for at in range(0, count, 20):
        orders = []
        for n in range(at, min(at + 20, count)):
            level = (index * count + n) % 400
            side, ticks = ("buy", 9_500 - level) if n % 2 else ("sell", 10_500 + level)
            orders.append(PlaceOrder(symbol=SYMBOL, side=side, price=f"{ticks // 100}.{ticks % 100:02d}", quantity=1))
        answers, _ = place_batch(entry, "bench-deep", orders)
        assert all(a.get("status") == "new" for a in answers), answers[:2]
    queue.put(count)


def run_slice(flow: EngineFlow, orders: int, seed: int) -> float:
    results = run_processes(submitter, flow.submitters, (flow.redis_port, orders // flow.submitters, seed))
    return sum(n for n, _s in results) / max(s for _n, s in results)


def archive_lag(flow: EngineFlow) -> int:
    from exchange import keys
    from ledger.archive import archived_position

    return int(flow.client.get(keys.seq(SYMBOL))) - archived_position(flow.db, SYMBOL).sequence


def wait_for_upkeep(flow: EngineFlow, timeout_s: float = 60.0) -> float:
    """Seconds until the archive has the whole journal and every done order has left Redis (the
    memory is then read at the same point after every slice)."""
    from exchange import keys

    started = time.time()
    while time.time() - started < timeout_s:
        if archive_lag(flow) == 0 and flow.client.zcard(keys.done_orders(SYMBOL)) == 0:
            break
        time.sleep(0.2)
    return time.time() - started


def resting(flow: EngineFlow) -> int:
    from exchange import keys

    return flow.client.zcard(keys.bids(SYMBOL)) + flow.client.zcard(keys.asks(SYMBOL))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--slice", type=int, default=20_000)
    parser.add_argument("--submitters", type=int, default=4)
    parser.add_argument("--resting", type=int, default=100_000)
    args = parser.parse_args()

    flow = EngineFlow(args.submitters, "ledger.worker", extra_env={
        "ORDER_ARCHIVE_AFTER_S": "1", "JOURNAL_RETENTION_S": "5", "MAX_OPEN_ORDERS": str(UNCAPPED)},
        extra_workers=("ticker.worker",))
    try:
        fund_accounts(flow.client, ["bench-deep"], (SYMBOL,))
        memory, rates = [], []
        slices = args.orders // args.slice
        with results.progress("soak", slices) as step:
            for number in range(1, slices + 1):
                rates.append(soak_slice(flow, args, number, memory))
                step(f"slice {number} of {slices}")
        if len(memory) >= 2:
            growth = memory[-1] / memory[1] - 1
            print(f"memory: last slice {growth:+.1%} vs the second (goal within 10 %: "
                  f"{'met' if abs(growth) <= 0.10 else 'NOT met'})")
        (small, small_book), (large, large_book) = compare_books(flow, args)
        results.save("soak", [Figure(f"{large_book:,} resting", large, "orders/s", f"{small_book:,} resting", small)],
                     notes={"slice_orders_per_s": rates, "used_memory_bytes": memory})
    finally:
        flow.close()


def soak_slice(flow: EngineFlow, args: argparse.Namespace, number: int, memory: list[int]) -> float:
    """One slice of orders, then the archive's upkeep; prints and returns the slice's rate."""
    rate = run_slice(flow, args.slice, seed=number)
    lag = archive_lag(flow)
    settled_s = wait_for_upkeep(flow)
    used = flow.client.info("memory")["used_memory"]
    memory.append(used)
    print(f"slice {number:2d}: {number * args.slice:7,} orders, {rate:6,.0f} orders/s, archive lag "
          f"{lag:,} events at the end; then archived and forgotten within {settled_s:.1f}s: used_memory "
          f"{used / 2**20:6.1f} MiB, {resting(flow):,} resting")
    return rate


def compare_books(flow: EngineFlow, args: argparse.Namespace) -> tuple[tuple[float, int], tuple[float, int]]:
    """The same flow on a book of ~100 resting orders, then of ~args.resting."""
    run_processes(rest_far, 1, (flow.redis_port, 100))
    small_book = resting(flow)
    small = run_slice(flow, args.slice, seed=1000)
    run_processes(rest_far, 2, (flow.redis_port, (args.resting - 100) // 2))
    large_book = resting(flow)
    large = run_slice(flow, args.slice, seed=1000)
    ratio = large / small
    print(f"resting book: {large:,.0f} orders/s with {large_book:,} resting beside {small:,.0f} orders/s with "
          f"{small_book:,} resting: {ratio:.2f} x (goal >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'})")
    return (small, small_book), (large, large_book)


if __name__ == "__main__":
    main()
