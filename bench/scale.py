"""How throughput grows with the parts: the HTTP order flow over six symbols on one redis-server
or a three-primary Redis Cluster, with one or two matchers, and one, two or four API replicas.

Each configuration is a whole stack (tests/stack.py: nginx, the API replicas, the matchers, the
ledger worker, the ticker and a web replica; rate limits off) driven by wrk (orders.lua, crossing
buys and sells rotating over the symbols). It prints orders/s beside the same-run ceiling (a
one-Redis-call Flask endpoint behind the same nginx, bench/http_orders.py), p50/p99, and the CPU
µs per order of each process group: the figures bench/README.md's capacity model is built from.

    python bench/scale.py [--seconds 10] [--connections 16] [--quick]
"""
from __future__ import annotations

import argparse
import itertools
import sys

import requests
import results
from http_orders import BENCH_DIR, USERS, measure_ceiling, run_wrk
from results import Figure

from tests.stack import start_stack

SYMBOLS = ("KRYP", "ADAM", "PUPS", "GOLD", "OILS", "CORN")
REDIS = {"1 redis": 0, "3-primary cluster": 3}
MATCHERS = (1, 2)
REPLICAS = (1, 2, 4)
GROUPS = ("api", "matcher", "redis", "mongo", "ledger", "ticker", "web", "nginx")


def groups(stack) -> dict[str, list]:
    """The stack's processes by tier (what the capacity model counts cores for)."""
    by_name = {proc.name: proc for proc in [*stack.servers, *stack.workers]}
    return {"api": stack.replicas, "matcher": [p for n, p in by_name.items() if n.startswith("matcher")],
            "redis": [p for n, p in by_name.items() if n.startswith("redis")],
            "mongo": [p for n, p in by_name.items() if n == "secantus"],
            "ledger": [by_name["ledger-worker"]], "ticker": [by_name["ticker"]], "web": stack.web,
            "nginx": [stack.nginx]}


def measure(args, cluster: int, matchers: int, replicas: int) -> dict:
    env = {"SYMBOLS": ",".join(SYMBOLS), "RATE_LIMIT": "", "ORDER_RATE_LIMIT": "",
           "STARTING_CASH": "100000000.00", "STARTING_SHARES": "100000000"}
    with start_stack(replicas=replicas, workers=("matcher", "ledger-worker", "ticker"), matchers=matchers,
                     redis_cluster=cluster, web_replicas=1, env=env) as stack:
        tokens = []
        for i in range(USERS):
            made = requests.post(f"{stack.base_url}/api/v1/users",
                                 json={"username": f"scale{i}", "password": "correct horse"}, timeout=30)
            made.raise_for_status()
            tokens.append(made.json()["token"])
        return run_wrk(stack.base_url, BENCH_DIR / "orders.lua", args.seconds, args.connections,
                       env={"TOKENS": ",".join(tokens), "SYMBOLS": ",".join(SYMBOLS)}, cpu_of=groups(stack))


def configurations(quick: bool) -> list[tuple[str, int, int]]:
    if quick:  # one step along each axis from the smallest stack
        return [("1 redis", 1, 1), ("1 redis", 2, 1), ("1 redis", 1, 2), ("3-primary cluster", 1, 1)]
    return list(itertools.product(REDIS, MATCHERS, REPLICAS))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2, help="the ceiling's replicas")
    parser.add_argument("--quick", action="store_true", help="4 configurations instead of 12")
    args = parser.parse_args()
    chosen = configurations(args.quick)
    runs: dict[str, dict] = {}
    with results.progress("scale", len(chosen) + 1) as step:
        ceiling = measure_ceiling(args, light_load=False)
        step("the ceiling measured")
        for redis_kind, matchers, replicas in chosen:
            label = f"{redis_kind}, {matchers} matcher{'s' * (matchers > 1)}, {replicas} API"
            runs[label] = measure(args, REDIS[redis_kind], matchers, replicas)
            step(label)
    print(f"baseline: {ceiling['rps']:,.0f} req/s for a one-Redis-call endpoint behind the same nginx "
          f"({args.replicas} replicas), same run")
    print(f"{'configuration':<40} {'orders/s':>9} {'x ceil':>7} {'p50 ms':>7} {'p99 ms':>7} | CPU µs per order: "
          + " ".join(f"{g:>7}" for g in GROUPS))
    for label, run in runs.items():
        print(f"{label:<40} {run['rps']:>9,.0f} {run['rps'] / ceiling['rps']:>7.2f} {run['p50']:>7.1f} "
              f"{run['p99']:>7.1f} | {'':17}" + " ".join(f"{run['cpu_us'][g]:>7,.0f}" for g in GROUPS)
              + (f"  ({run['errors']} non-2xx)" if run["errors"] else ""))
    results.save("scale", [Figure(label, run["rps"], "orders/s", "one-Redis-call endpoint", ceiling["rps"])
                           for label, run in runs.items()],
                 {label: {"p50": run["p50"], "p99": run["p99"]} for label, run in runs.items()},
                 notes={"cpu_us_per_order": {label: run["cpu_us"] for label, run in runs.items()},
                        "errors": {label: run["errors"] for label, run in runs.items()},
                        "symbols": list(SYMBOLS), "connections": args.connections})


if __name__ == "__main__":
    sys.exit(main())
