"""Workers and threads per API replica (API_WORKERS x API_THREADS) on this machine.

For each shape, the whole stack as `make up` runs it (bench/http_orders.py's flow, its
measurement and its yardstick, measured first in the same run): orders/s, the ratio to the
yardstick, p50/p99 and the API's CPU per order. The default shape is the one bench/README.md
argues for from these figures.

    python bench/api_shape.py [--shapes 2x8,1x16,2x4,4x4] [--seconds 15] [--connections 32]
"""
from __future__ import annotations

import argparse
import sys

import http_orders
import results
from results import Figure

from common import cpu_line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="2x8,1x16,2x4,3x4,4x4", help="WORKERSxTHREADS, comma-separated")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.shapes.split(",")]
    runs: dict[str, dict] = {}
    with results.progress("api shapes", 1 + len(shapes)) as step:
        yardstick = http_orders.measure_ceiling(args, light_load=False)
        step("the yardstick measured")
        for number, (workers, threads) in enumerate(shapes, start=1):
            label = f"{workers} workers x {threads} threads"
            if label in runs:  # the same shape again: its own line
                label += f" ({number})"
            runs[label] = http_orders.measure_orders(args, True, as_make_up=True, env={
                "API_WORKERS": str(workers), "API_THREADS": str(threads)})
            step(label)
    print(f"yardstick: {yardstick['rps']:,.0f} req/s (one-Redis-call endpoint, gunicorn 2 x 8), same run")
    for label, run in runs.items():
        print(f"{label:24} {run['rps']:7,.0f} orders/s  {run['rps'] / yardstick['rps']:5.2f} x  p50 {run['p50']:6.1f} ms"
              f"  p99 {run['p99']:6.1f} ms  {run['errors']} non-2xx | CPU µs: {cpu_line(run)}")
    results.save("api_shape", [Figure(label, run["rps"], "orders/s", "one-Redis-call endpoint", yardstick["rps"])
                               for label, run in runs.items()],
                 {label: {"p50": run["p50"], "p99": run["p99"]} for label, run in runs.items()},
                 notes={"cpu_us_per_request": {label: run["cpu_us"] for label, run in runs.items()}})


if __name__ == "__main__":
    sys.exit(main())
