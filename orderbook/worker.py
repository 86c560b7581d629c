"""Matching worker: ``python -m orderbook.worker``.

One loop per symbol (``exchange.worker``): hold the symbol's Redlock and match
commands as they arrive (``orderbook.matcher.StandingMatcher``), so API replicas
mostly just wait for their replies. If every worker is down, order entry matches on
its own (it takes the lock itself), so this process adds throughput and picks up
orders whose submitter died, but no correctness depends on it. If the Redis node
of a symbol is unavailable (restarting, say: ``redis_client.UNAVAILABLE``), that
symbol's loop tries again shortly while the others go on; a batch that did not
commit leaves the cached book invalid, so the next pass re-reads it under a new
fence. Any other failure ends the process, non-zero, for its supervisor to restart.

Several workers (``MATCHER_REPLICAS``) share the symbols out: each renews its place
on a roster in Redis every eighth of the lock's TTL, and serves only its share of
the symbols (``orderbook.symbol_shares``), standing down from the rest. A worker that
dies drops off the roster within the lock's TTL, and its symbols' locks lapse within
the same TTL, so the survivors take them over within the TTL plus a roster renewal
and a standby poll (2.45 s at the default 2 s TTL).
"""
from __future__ import annotations

import os
import secrets
import socket
from functools import partial

from exchange import keys, redis_client
from exchange.config import Settings
from exchange.metrics import MATCHER_SERVING
from exchange.scripts import Scripts
from exchange.worker import Loop, Worker, run
from orderbook.matcher import StandingMatcher, SymbolMatcher
from orderbook.symbol_shares import symbols_served

STANDBY_POLL_S = 0.2  # how often a standby worker tries for a lock another holds
ROSTER_RENEWALS = 8  # renewals of a worker's place on the roster per lock TTL
OUTAGE_RETRY_S = 0.25  # a symbol's loop tries again this soon after its Redis node was unavailable


class MatchingWorker(Worker):
    name = "orderbook.worker"

    def bootstrap(self) -> None:
        self.settings = settings = Settings.from_env()
        self.client = client = redis_client.connect(settings)
        self.scripts = scripts = Scripts(client)
        self.matcher_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.standing = {symbol: StandingMatcher(SymbolMatcher.for_settings(client, symbol, settings, scripts))
                         for symbol in settings.symbols}
        self.served: frozenset[str] = frozenset()
        self.renew_roster()

    def loops(self) -> dict[str, Loop]:
        roster = {"roster": Loop(self.renew_roster, every_s=lambda: self.settings.lock_ttl_ms / 1000 / ROSTER_RENEWALS,
                                 retry_on=redis_client.UNAVAILABLE, retry_s=OUTAGE_RETRY_S)}
        return roster | {f"match-{symbol}": Loop(partial(self.serve, symbol), idle_s=STANDBY_POLL_S,
                                                 retry_on=redis_client.UNAVAILABLE, retry_s=OUTAGE_RETRY_S)
                         for symbol in self.standing}

    def renew_roster(self) -> int:
        """Renew this worker's place on the roster and take up its share of the symbols."""
        roster = self.scripts.matcher_roster(keys=[keys.matcher_roster()],
                                             args=[self.matcher_id, self.settings.lock_ttl_ms])
        self.served = symbols_served(self.matcher_id, (member.decode() for member in roster),
                                     self.settings.symbols)
        return 1

    def serve(self, symbol: str) -> int:
        """One pass of a symbol's loop: match if it is this worker's share (and it holds the lock)."""
        standing = self.standing[symbol]
        if symbol in self.served:
            served = standing.serve_once()
        else:
            standing.stand_down()
            served = 0
        MATCHER_SERVING.labels(symbol).set(standing.lease.held)
        return served

    def teardown(self) -> None:
        self.client.zrem(keys.matcher_roster(), self.matcher_id)  # the others take its share at once
        for standing in self.standing.values():
            standing.stop()  # hand the locks over at once instead of when they expire


def main() -> None:
    run(MatchingWorker())


if __name__ == "__main__":
    main()
