"""Matching worker: ``python -m orderbook.worker``.

One thread per symbol holds the symbol's Redlock and matches commands as they
arrive, so API replicas mostly just wait for their replies. With several
workers running, one holds each lock and the others stand by. If every worker
is down, order entry matches on its own (it takes the lock itself), so this
process adds throughput and picks up orders whose submitter died, but no
correctness depends on it. If a symbol's thread fails (Redis went away, say),
the process exits non-zero so its supervisor restarts it, rather than living
on without matching that symbol.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading

import redis

from exchange.config import Settings
from exchange.scripts import Scripts
from orderbook.matcher import SymbolMatcher

log = logging.getLogger("orderbook.worker")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    client = redis.Redis.from_url(settings.redis_url)
    scripts = Scripts(client)
    stopping = threading.Event()

    def stop(*_signal) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failed = threading.Event()

    def serve(matcher: SymbolMatcher) -> None:
        try:
            matcher.serve(lambda: not stopping.is_set())
        except Exception:
            log.exception("matching %s failed; exiting so that the supervisor restarts this worker", matcher.symbol)
            failed.set()
            stopping.set()

    threads = []
    for symbol in settings.symbols:
        matcher = SymbolMatcher.for_settings(client, symbol, settings, scripts)
        thread = threading.Thread(target=serve, args=(matcher,), name=f"match-{symbol}", daemon=True)
        thread.start()
        threads.append(thread)
    log.info("matching %s", ", ".join(settings.symbols))
    stopping.wait()
    for thread in threads:
        thread.join(timeout=settings.lock_ttl_ms / 1000)
    log.info("stopped")
    sys.exit(1 if failed.is_set() else 0)


if __name__ == "__main__":
    main()
