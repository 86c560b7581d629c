"""Settlement worker: ``python -m ledger.worker``.

Loop: for each symbol, settle its pending journal entries into the live
accounts; sleep briefly when idle; stop cleanly on SIGTERM or Ctrl-C.
"""
from __future__ import annotations

import logging
import signal
import time

import redis

from exchange.config import Settings
from exchange.scripts import Scripts
from ledger.settler import SymbolSettler

log = logging.getLogger("ledger.worker")
IDLE_SLEEP_S = 0.02


class Worker:
    def __init__(self, settings: Settings):
        self.client = redis.Redis.from_url(settings.redis_url)
        scripts = Scripts(self.client)
        self.settlers = [SymbolSettler(self.client, symbol, scripts) for symbol in settings.symbols]
        self.running = True

    def stop(self, *_signal) -> None:
        self.running = False

    def run(self) -> None:
        log.info("settling %s", ", ".join(s.symbol for s in self.settlers))
        while self.running:
            settled = sum(settler.run_once() for settler in self.settlers)
            if not settled:
                time.sleep(IDLE_SLEEP_S)
        log.info("stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker = Worker(Settings.from_env())
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
