"""Every Prometheus metric the exchange exports, named once (prometheus-client).

Each process serves its own ``/metrics`` on ``METRICS_PORT`` (unset: none), on
``METRICS_HOST`` (127.0.0.1; 0.0.0.0 in docker-compose, where Prometheus is another container).
An API replica is several worker processes: they write their samples to a
per-replica directory (prometheus-client's multiprocess mode, set up by
orderbook/serve.py before any worker starts) and the replica's main process serves
them summed. devstack gives every process a port and lists them all in
``data/run/prometheus-targets.json`` (Prometheus' file-based service discovery).

Lag is a subtraction: ``exchange_journal_sequence - exchange_applied_sequence``
per symbol and consumer.
"""
from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("exchange.metrics")

# ---- the API -------------------------------------------------------------------------------
REQUESTS = Counter("exchange_http_requests", "API requests answered, by route and status",
                   ["route", "method", "status"])
ORDERS = Counter("exchange_orders", "Orders accepted (answered 201 or 202): they reached the book",
                 ["type", "time_in_force"])
ORDER_RESULTS = Counter("exchange_order_results", "Orders answered, by result: the order's status, or the "
                        "refusal's code", ["type", "time_in_force", "result"])
ORDER_SECONDS = Histogram("exchange_order_seconds", "Placing one order, from validation to the book's answer",
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
RATE_LIMITED = Counter("exchange_rate_limited", "Requests or orders refused with 429", ["limit"])

# ---- matching ------------------------------------------------------------------------------
BATCHES = Counter("exchange_matcher_batches", "Batches the matchers committed", ["symbol"])
COMMIT_SECONDS = Histogram("exchange_matcher_commit_seconds", "One batch's commit round trip",
                           buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
FENCE_REFUSALS = Counter("exchange_matcher_fence_refusals", "Commits refused by the fence or the sequence "
                         "(another holder took the book)", ["symbol"])
JOURNAL_SEQUENCE = Gauge("exchange_journal_sequence", "The last journal sequence a matcher of this process "
                         "committed", ["symbol"], multiprocess_mode="max")
MATCHER_SERVING = Gauge("exchange_matcher_serving", "1 while this matcher process holds the symbol's lock and "
                        "matches its book (its share: MATCHER_REPLICAS), else 0", ["symbol"])

# ---- journal consumers ---------------------------------------------------------------------
APPLIED_SEQUENCE = Gauge("exchange_applied_sequence", "The last journal sequence a consumer applied: "
                         "live_accounts, ledger_of_record, candles", ["symbol", "consumer"],
                         multiprocess_mode="max")

# ---- the web tier and the bots -------------------------------------------------------------
WEB_CLIENTS = Gauge("exchange_web_clients", "Socket.IO clients connected to this replica")
WEB_SUBSCRIPTIONS = Counter("exchange_web_subscriptions", "Channel subscriptions made", ["channel"])
WEB_RESYNCS = Counter("exchange_web_resyncs", "Book reloads a feed made to get back in step", ["symbol"])
BOT_ACTIONS = Counter("exchange_bot_actions", "Actions the bot runner took for rule bots", ["result"])


def serve(port: int | None, host: str = "127.0.0.1") -> None:
    """This process's /metrics on ``host``:``port`` (a daemon thread); nothing without a port.
    A port already taken is logged, not fatal: a matcher must not stop for its metrics."""
    if not port:
        return
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        log.error("no /metrics: cannot listen on %s:%d (%s)", host, port, error)
