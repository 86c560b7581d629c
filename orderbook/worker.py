"""Matching worker: ``python -m orderbook.worker``.

One loop per symbol (``exchange.worker``): hold the symbol's Redlock and match
commands as they arrive (``orderbook.matcher.StandingMatcher``), so API replicas
mostly just wait for their replies. With several workers running, one holds each
lock and the others stand by. If every worker is down, order entry matches on
its own (it takes the lock itself), so this process adds throughput and picks up
orders whose submitter died, but no correctness depends on it. If a symbol's
loop fails (Redis went away, say), the process exits non-zero so its supervisor
restarts it, rather than living on without matching that symbol.
"""
from __future__ import annotations

import redis

from exchange.config import Settings
from exchange.scripts import Scripts
from exchange.worker import Loop, Worker, run
from orderbook.matcher import StandingMatcher, SymbolMatcher

STANDBY_POLL_S = 0.2  # how often a standby worker tries for a lock another holds


class MatchingWorker(Worker):
    name = "orderbook.worker"

    def bootstrap(self) -> None:
        settings = Settings.from_env()
        client = redis.Redis.from_url(settings.redis_url)
        scripts = Scripts(client)
        self.standing = {symbol: StandingMatcher(SymbolMatcher.for_settings(client, symbol, settings, scripts))
                         for symbol in settings.symbols}

    def loops(self) -> dict[str, Loop]:
        return {f"match-{symbol}": Loop(standing.serve_once, idle_s=STANDBY_POLL_S)
                for symbol, standing in self.standing.items()}

    def teardown(self) -> None:
        for standing in self.standing.values():
            standing.stop()  # hand the locks over at once instead of when they expire


def main() -> None:
    run(MatchingWorker())


if __name__ == "__main__":
    main()
