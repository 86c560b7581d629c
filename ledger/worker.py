"""Settlement worker: ``python -m ledger.worker``.

Two loops, one thread each, so a slow MongoDB never delays live balances:
  live:   for each symbol, apply the journal to the live Redis accounts; every
          RECONCILE_INTERVAL_S also void holds whose order never reached a book
          and trim the journal behind its slowest consumer (ledger/retention.py);
  record: for each symbol, feed the journal to the ledger of record in MongoDB.
Both sleep briefly when idle and stop cleanly on SIGTERM or Ctrl-C.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

import redis

from exchange import mongo
from exchange.config import Settings
from exchange.scripts import Scripts
from ledger import retention
from ledger.consumer import JournalConsumer
from ledger.reconcile import void_orphan_holds
from ledger.record import LedgerOfRecord
from ledger.settler import SettlementFailed, SymbolSettler

log = logging.getLogger("ledger.worker")
IDLE_SLEEP_S = 0.02
RECONCILE_INTERVAL_S = 30.0


class Worker:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.client = redis.Redis.from_url(settings.redis_url)
        scripts = Scripts(self.client)
        db = mongo.database(settings.mongo_url, settings.mongo_db)
        mongo.ensure_indexes(db)
        ledger = LedgerOfRecord(mongo.client(settings.mongo_url), db)
        consumer_name = f"{socket.gethostname()}-{os.getpid()}"
        self.settlers = [SymbolSettler(self.client, s, scripts) for s in settings.symbols]
        self.consumers = [JournalConsumer(self.client, s, ledger, consumer_name) for s in settings.symbols]
        self.stopping = threading.Event()

    def stop(self, *_signal) -> None:
        self.stopping.set()

    def live_loop(self) -> None:
        next_reconcile = time.monotonic() + RECONCILE_INTERVAL_S
        while not self.stopping.is_set():
            if not sum(self._settle(settler) for settler in self.settlers):
                self.stopping.wait(IDLE_SLEEP_S)
            if time.monotonic() >= next_reconcile:
                for line in void_orphan_holds(self.client, self.settings, wait_s=1.0):
                    log.warning("reconcile: %s", line)
                for symbol in self.settings.symbols:
                    retention.trim(self.client, symbol)
                next_reconcile = time.monotonic() + RECONCILE_INTERVAL_S

    def _settle(self, settler: SymbolSettler) -> int:
        try:
            return settler.run_once()
        except SettlementFailed:  # its cursor stayed; retry after a pause, the other symbols go on
            log.exception("live settlement of %s failed; retrying", settler.symbol)
            self.stopping.wait(1.0)
            return 0

    def record_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                applied = sum(consumer.run_once() for consumer in self.consumers)
            except Exception:  # a MongoDB outage must not stop live settlement
                log.exception("ledger of record: batch failed; retrying")
                applied = 0
                self.stopping.wait(1.0)
            if not applied:
                self.stopping.wait(IDLE_SLEEP_S)

    def run(self) -> None:
        log.info("settling %s", ", ".join(self.settings.symbols))
        record = threading.Thread(target=self.record_loop, name="ledger-of-record", daemon=True)
        record.start()
        self.live_loop()
        record.join(timeout=10)
        for step in (*self.settlers, *self.consumers):
            step.stop()  # hand the symbols over at once instead of when the leases expire
        log.info("stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker = Worker(Settings.from_env())
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
