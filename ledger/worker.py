"""Settlement worker: ``python -m ledger.worker``.

Five loops (``exchange.worker``), one thread each, so a slow MongoDB never
delays live balances:
  live:        for each symbol, apply the journal to the live Redis accounts;
  record:      for each symbol, feed the journal to the ledger of record in MongoDB;
  archive:     for each symbol, copy the journal to MongoDB's events (ledger/archive.py);
  upkeep:      for each symbol it archives, move done orders every reader has passed to
               MongoDB's orders (ledger/forget.py) and trim the journal behind its slowest
               reader (ledger/retention.py);
  maintenance: every MAINTENANCE_INTERVAL_S, void holds whose order never
               reached a book (ledger/reconcile.py).
Idle, live and record block on one XREAD of the journals whose leases they hold,
from where each left off, and go on as soon as one has an entry (or after 0.5 s):
polling each journal every 20 ms cost a resting exchange 6.5 % of a core here.
The others sleep briefly. They stop cleanly on SIGTERM or Ctrl-C.
"""
from __future__ import annotations

import logging
import os
import socket
import time

from exchange import keys, mongo, redis_client
from exchange.config import Settings
from exchange.scripts import Scripts
from exchange.streams import wait_past
from exchange.worker import Loop, SymbolPasses, Worker, run
from ledger import retention
from ledger.archive import JournalArchiver
from ledger.backfill import backfill
from ledger.consumer import JournalConsumer
from ledger.forget import forget_done_orders
from ledger.live_settlement import SettlementFailed, SymbolSettler
from ledger.reconcile import void_orphan_holds
from ledger.record import LedgerOfRecord

log = logging.getLogger("ledger.worker")
IDLE_SLEEP_S = 0.02
ARCHIVE_IDLE_S = 0.2  # buckets wait up to a second for company anyway
MAINTENANCE_INTERVAL_S = 30.0
UPKEEP_IDLE_S = 1.0  # forgetting done orders and trimming journals, when there was nothing to do


class LedgerWorker(Worker):
    name = "ledger.worker"

    def bootstrap(self) -> None:
        self.settings = settings = Settings.from_env()
        self.redis = redis_client.connect(settings)
        scripts = Scripts(self.redis)
        db = mongo.database(settings.mongo_url, settings.mongo_db)
        mongo.ensure_indexes(db)
        for line in backfill(self.redis, db, settings.symbols):
            log.info(line)
        ledger = LedgerOfRecord(mongo.client(settings.mongo_url), db)
        consumer_name = f"{socket.gethostname()}-{os.getpid()}"
        self.settlers = [SymbolSettler(self.redis, s, scripts) for s in settings.symbols]
        self.consumers = [JournalConsumer(self.redis, s, ledger, consumer_name) for s in settings.symbols]
        self.archivers = [JournalArchiver(self.redis, s, db) for s in settings.symbols]
        self.db = db
        self.live_passes = SymbolPasses("live settlement", also_retry=(SettlementFailed,))

    def loops(self) -> dict[str, Loop]:
        return {
            "live": Loop(self.settle_live, idle_s=IDLE_SLEEP_S, wait_for_work=self.wait_live),
            # a MongoDB outage must not stop live settlement: its own loop, retried
            "record": Loop(self.settle_record, idle_s=IDLE_SLEEP_S, retry_on=(Exception,),
                           wait_for_work=self.wait_record),
            "archive": Loop(self.archive, idle_s=ARCHIVE_IDLE_S, retry_on=(Exception,)),
            # its own loop: moving done orders waits on MongoDB, and must not hold up the archive's lease
            "upkeep": Loop(self.upkeep, idle_s=UPKEEP_IDLE_S, retry_on=(Exception,)),
            "maintenance": Loop(self.maintain, every_s=lambda: MAINTENANCE_INTERVAL_S, retry_on=(Exception,),
                                first_after_s=MAINTENANCE_INTERVAL_S),
        }

    def settle_live(self) -> int:
        """Each symbol's journal into the live accounts. A symbol whose batch failed, or met a Redis
        node that was unavailable (its own or an account's), keeps its cursor and is tried again a
        second later (each account's applied sequence makes a batch applied twice count once); the
        other symbols go on meanwhile."""
        return self.live_passes.run((settler.symbol, settler.run_once) for settler in self.settlers)

    def wait_live(self, timeout_s: float) -> None:
        """Idle: block until a journal this worker settles has an entry past its cursor (a symbol
        waiting out a failure is left out: its entries are not work until then)."""
        wait_past(self.redis, {keys.events(s.symbol): cursor for s in self.settlers
                               if not self.live_passes.paused(s.symbol) and (cursor := s.waits_after()) is not None},
                  timeout_s, IDLE_SLEEP_S)

    def wait_record(self, timeout_s: float) -> None:
        wait_past(self.redis, {keys.events(c.symbol): last for c in self.consumers
                               if (last := c.waits_after()) is not None}, timeout_s, IDLE_SLEEP_S)

    def settle_record(self) -> int:
        return sum(consumer.run_once() for consumer in self.consumers)

    def archive(self) -> int:
        return sum(archiver.run_once() for archiver in self.archivers)

    def upkeep(self) -> int:
        """For each symbol whose archive this worker holds: done orders past ORDER_ARCHIVE_AFTER_S go to
        MongoDB (a batch at a time), and the journal is trimmed behind its readers."""
        before_ms = int(time.time() * 1000) - self.settings.order_archive_after_s * 1000
        moved = 0
        for archiver in self.archivers:
            if archiver.lease.held:  # one worker at a time does it (doing it twice would be harmless)
                moved += forget_done_orders(self.redis, self.db, archiver.symbol, older_than_ms=before_ms)
                moved += retention.trim(self.redis, archiver.symbol, self.settings.journal_retention_s * 1000)
        return moved  # busy: go on at once; idle: look again in UPKEEP_IDLE_S

    def maintain(self) -> int:
        """Void holds whose order never reached a book."""
        for line in void_orphan_holds(self.redis, self.settings, wait_s=1.0):
            log.warning("reconcile: %s", line)
        return 0  # it runs every MAINTENANCE_INTERVAL_S whatever it did

    def teardown(self) -> None:
        for walker in (*self.settlers, *self.consumers, *self.archivers):
            walker.stop()  # hand the symbols over at once instead of when the leases expire


def main() -> None:
    run(LedgerWorker())


if __name__ == "__main__":
    main()
