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

import results
from results import Figure

from common import cursor_sequence, lags, percentile
from flow import SYMBOL, EngineFlow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--submitters", type=int, default=8)
    args = parser.parse_args()

    from exchange import keys

    flow = EngineFlow(args.submitters, "ticker.worker")
    try:
        def position() -> int:
            return cursor_sequence(flow.client, SYMBOL, keys.ticker_cursor(SYMBOL))

        orders, samples, trades = flow.measure(args.seconds, lambda: (position(),))
        lag = lags(trades, samples, 1)
        print(f"load: {orders / args.seconds:,.0f} orders/s, {len(trades) / args.seconds:,.0f} trades/s "
              f"({len(trades):,} trades) for {args.seconds:.0f}s")
        print(f"ticker lag behind the engine: p50 {percentile(lag, 50):.0f} ms, p99 {percentile(lag, 99):.0f} ms "
              f"over {len(lag):,} trades")
        backlog_trades, events, took = flow.backlog_capacity(args.seconds, position)
        print(f"capacity: a restarted ticker folded a backlog of {backlog_trades:,} trades ({events:,} journal "
              f"events) in {took:.2f}s = {backlog_trades / took:,.0f} trades/s ({events / took:,.0f} events/s)")
        results.save("candles", [Figure("ticker folding a backlog", backlog_trades / took, "trades/s",
                                        "trades the engine made", len(trades) / args.seconds)],
                     {"ticker lag": {"p50": percentile(lag, 50), "p99": percentile(lag, 99)}},
                     notes={"orders_per_s": orders / args.seconds, "events_per_s": events / took})
    finally:
        flow.close()


if __name__ == "__main__":
    main()
