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

import results
from results import Figure

from common import cursor_sequence, lags, percentile
from flow import SYMBOL, EngineFlow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--submitters", type=int, default=8)
    args = parser.parse_args()

    from exchange import keys, mongo

    flow = EngineFlow(args.submitters, "ledger.worker")
    try:
        def record() -> int:
            cursor = flow.db[mongo.CURSORS].find_one({"_id": SYMBOL})
            return cursor["sequence"] if cursor else 0

        def positions() -> tuple[int, int]:
            return cursor_sequence(flow.client, SYMBOL, keys.settled_cursor(SYMBOL)), record()

        orders, samples, trades = flow.measure(args.seconds, positions)
        live, recorded = lags(trades, samples, 1), lags(trades, samples, 2)
        print(f"load: {orders / args.seconds:,.0f} orders/s, {len(trades) / args.seconds:,.0f} trades/s "
              f"({len(trades):,} trades) for {args.seconds:.0f}s")
        print(f"lag match -> settled, live accounts (Redis): p50 {percentile(live, 50):.0f} ms, "
              f"p99 {percentile(live, 99):.0f} ms over {len(live):,} trades")
        print(f"lag match -> settled, ledger of record (SecantusDB): p50 {percentile(recorded, 50):.0f} ms, "
              f"p99 {percentile(recorded, 99):.0f} ms over {len(recorded):,} trades (target p99 < 1000 ms)")
        backlog_trades, events, took = flow.backlog_capacity(args.seconds, record)
        print(f"capacity: a restarted worker settled a backlog of {backlog_trades:,} trades ({events:,} events) "
              f"in {took:.1f}s = {backlog_trades / took:,.0f} trades/s ({events / took:,.0f} events/s) "
              "into both stores")
        results.save("settlement", [Figure("settling a backlog into both stores", backlog_trades / took,
                                           "trades/s", "trades the engine made", len(trades) / args.seconds)],
                     {"live accounts": {"p50": percentile(live, 50), "p99": percentile(live, 99)},
                      "ledger of record": {"p50": percentile(recorded, 50), "p99": percentile(recorded, 99)}},
                     notes={"orders_per_s": orders / args.seconds, "events_per_s": events / took})
    finally:
        flow.close()


if __name__ == "__main__":
    main()
