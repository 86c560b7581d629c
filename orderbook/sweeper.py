"""Matcher sweeper: ``python -m orderbook.sweeper``.

Order entry matches its own orders, so this loop only matters when a
submitter died after its order was accepted: it drains any symbol with
pending commands, so no accepted order waits for the next arrival.
"""
from __future__ import annotations

import logging
import signal
import time

import redis

from exchange.config import Settings
from exchange.scripts import Scripts
from orderbook.matcher import SymbolMatcher

log = logging.getLogger("orderbook.sweeper")
POLL_S = 0.1


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    client = redis.Redis.from_url(settings.redis_url)
    scripts = Scripts(client)
    matchers = [SymbolMatcher(client, s, lock_ttl_ms=settings.lock_ttl_ms, scripts=scripts)
                for s in settings.symbols]
    running = True

    def stop(*_signal) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("sweeping %s", ", ".join(settings.symbols))
    while running:
        for matcher in matchers:
            if matcher.has_pending():
                matcher.drain()
        time.sleep(POLL_S)


if __name__ == "__main__":
    main()
