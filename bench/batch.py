"""Market makers re-quoting through POST /orders/batch vs one order per request.

Each maker is a process with its own account and symbol. A re-quote cancels its
quotes (DELETE /orders?symbol=) and rests ``levels`` bids and ``levels`` asks
around $10.00, either in one batch request or in one request per order. Both
modes run against the same whole stack (`make up`'s processes, order and
request rate limits off: a maker quoting this fast is what they stop), one after
the other, alternating over ``--runs``; the one-order-per-request mode is the
same-run baseline. Every answer is checked: a refused quote fails the bench.

    python bench/batch.py [--seconds 10] [--makers 3] [--levels 10] [--runs 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import results
from results import Figure

from common import run_processes, sleep_until  # (importing common puts the project on sys.path)
from exchange.money import format_cents
from tests.stack import start_stack

SYMBOLS = ("KRYP", "ADAM", "PUPS")


def quotes(symbol: str, levels: int) -> list[dict]:
    """``levels`` bids from $9.99 down and asks from $10.01 up: they never cross."""
    return [{"symbol": symbol, "side": side, "price": format_cents(1000 + sign * (level + 1)), "quantity": 1,
             "post_only": True} for level in range(levels) for side, sign in (("buy", -1), ("sell", 1))]


def make_markets(index: int, start_at: float, queue, base_url: str, batched: bool, levels: int,
                 seconds: float) -> None:
    from exchange_client import ExchangeClient

    api = ExchangeClient(base_url)
    api.register(f"maker-{'b' if batched else 's'}{index}-{time.time_ns()}", "correct horse battery")
    symbol = SYMBOLS[index % len(SYMBOLS)]
    book = quotes(symbol, levels)
    sleep_until(start_at)
    placed = requotes = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        api.cancel_all(symbol)
        answers = api.place_orders(book) if batched else [api.place_order(**order) for order in book]
        refused = [answer["error"] for answer in answers if "error" in answer]
        if refused:
            raise SystemExit(f"a quote was refused: {refused[0]}")
        placed += len(answers)
        requotes += 1
    api.cancel_all(symbol)
    queue.put((placed, requotes))


def measure(base_url: str, batched: bool, args) -> tuple[float, float]:
    """(orders/s, re-quotes/s) of all makers together."""
    made = run_processes(make_markets, args.makers, (base_url, batched, args.levels, args.seconds))
    return (sum(placed for placed, _ in made) / args.seconds, sum(requotes for _, requotes in made) / args.seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--makers", type=int, default=3)
    parser.add_argument("--levels", type=int, default=10, help="quotes a side (a batch takes at most 20 orders)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not 1 <= args.levels <= 10:
        raise SystemExit("--levels: 1 to 10 (a batch takes at most 20 orders)")
    figures: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with start_stack(env={"RATE_LIMIT": "", "ORDER_RATE_LIMIT": ""}) as stack:
        for _run in range(args.runs):
            for batched in (False, True):
                figures[batched].append(measure(stack.base_url, batched, args))
    print(f"{args.makers} market makers, {args.levels} levels a side, {args.seconds:.0f} s per run, "
          f"{args.runs} runs per mode, alternating; whole stack, rate limits off")
    for batched, label in ((True, "through /orders/batch"), (False, "baseline: one order per request")):
        orders = [rate for rate, _ in figures[batched]]
        requotes = [rate for _, rate in figures[batched]]
        print(f"{label}: {min(orders):,.0f}-{max(orders):,.0f} orders/s "
              f"(median {statistics.median(orders):,.0f}); {min(requotes):,.1f}-{max(requotes):,.1f} re-quotes/s")
    ratios = [b[0] / s[0] for b, s in zip(figures[True], figures[False])]
    print(f"ratio batch / one per request: {min(ratios):.2f}-{max(ratios):.2f} x")
    medians = {batched: statistics.median(rate for rate, _ in figures[batched]) for batched in (True, False)}
    results.save("batch", [Figure("through /orders/batch (median)", medians[True], "orders/s",
                                  "one order per request", medians[False])],
                 notes={"runs": {"batch": figures[True], "one_per_request": figures[False]},
                        "ratios": ratios, "makers": args.makers, "levels": args.levels})


if __name__ == "__main__":
    sys.exit(main())
