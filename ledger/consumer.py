"""Feeds a symbol's journal to the ledger of record through a Redis consumer group.

One worker at a time holds a symbol's lease and reads in order: first the
entries an earlier holder read but never acknowledged (XAUTOCLAIM), then new
ones. It acknowledges only after the MongoDB transaction commits; a crash in
between means the next holder claims and re-applies the batch, which the
ledger's cursor turns into a no-op.

If the journal stops continuing what the ledger applied (Redis lost data: a new
epoch, sequences reused, or the journal behind the ledger's cursor), the
consumer stops applying that symbol. It logs the fault at CRITICAL and records
it in Redis (``keys.journal_fault``), where the API's health check and
``python -m ledger check`` report it, until ``python -m ledger recover`` clears it.
"""
from __future__ import annotations

import logging
import time

import orjson
import redis

from exchange import journal, keys
from exchange.metrics import APPLIED_SEQUENCE
from ledger.journal_worker import JournalWorker
from ledger.record import JournalFault, LedgerOfRecord

GROUP = "ledger"
# Journal entries a transaction applies at most. A batch nets each account's changes into one $inc,
# so a larger one writes fewer account updates, cursor writes and commits per trade: on SecantusDB
# a backlog cleared about 20 % faster at 2,000 than at 500 (bench/README.md). A batch is only as
# large as what is waiting.
BATCH_EVENTS = 2000
POSITION_CHECK_S = 2.0  # while idle, how often the journal's own position is compared with the ledger's
log = logging.getLogger("ledger.consumer")


class JournalConsumer(JournalWorker):
    def __init__(self, client: redis.Redis, symbol: str, ledger: LedgerOfRecord, consumer: str,
                 batch_size: int = BATCH_EVENTS, lease_ms: int = 3000):
        super().__init__(client, symbol, keys.ledger_lease(symbol), batch_size, lease_ms)
        self.ledger = ledger
        self.consumer = consumer
        self.stream = keys.events(symbol)
        self._group_ready = False
        self.last_read: bytes | None = None  # the last entry the group gave this consumer
        self.halted = False
        self._next_look = 0.0  # when to look again at the fault record or the journal's position

    def apply_batch(self) -> int:
        if self.halted and not self._fault_cleared():
            return 0
        try:
            count = self._read_and_apply()
            if not count:
                self._check_position()
            return count
        except JournalFault as fault:
            self._stop(str(fault))
            return 0

    def _read_and_apply(self) -> int:
        try:
            return self._step()
        except redis.ResponseError as err:
            if "NOGROUP" not in str(err):
                raise
            # The group vanished (e.g. Redis lost its data): recreate it from the start of
            # the journal; the ledger's cursor skips what it already applied.
            self._group_ready = False
            return self._step()

    def _step(self) -> int:
        self._ensure_group()
        # Entries delivered to an earlier holder and never acknowledged come first, in order.
        _next, entries, _deleted = self.client.xautoclaim(self.stream, GROUP, self.consumer, min_idle_time=0,
                                                          start_id="0-0", count=self.batch_size)
        if not entries:
            reply = self.client.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=self.batch_size)
            entries = reply[0][1] if reply else []
        if not entries:
            if self.last_read is None:  # where the group is, once: the wait starts there
                self.last_read = self._group_last_delivered()
            return 0
        self.ledger.apply(self.symbol, journal.read_entries(entries))
        self.client.xack(self.stream, GROUP, *[entry_id for entry_id, _ in entries])
        self.last_read = entries[-1][0]
        APPLIED_SEQUENCE.labels(self.symbol, "ledger_of_record").set(journal.entry_sequence(entries[-1][1]))
        return len(entries)

    def waits_after(self) -> bytes | None:
        """The entry after which this consumer has work again (None: no lease, halted, or not known)."""
        return self.last_read if self.lease.held and not self.halted else None

    def _group_last_delivered(self) -> bytes | None:
        for group in self.client.xinfo_groups(self.stream):
            if group["name"] in (GROUP, GROUP.encode()):
                last = group["last-delivered-id"]
                return last if isinstance(last, bytes) else str(last).encode()
        return None

    def _check_position(self) -> None:
        """With nothing new to read: is the journal behind, or in another epoch than, the ledger?"""
        now = time.monotonic()
        if now < self._next_look:
            return
        self._next_look = now + POSITION_CHECK_S
        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.seq(self.symbol))
        pipe.get(keys.epoch(self.symbol))
        seq, epoch = pipe.execute()
        at = self.ledger.position(self.symbol)
        if epoch is not None and at.epoch is not None and int(epoch) != at.epoch:
            raise JournalFault(f"{self.symbol}: the journal is in epoch {int(epoch)}, the ledger applied epoch "
                               f"{at.epoch} up to sequence {at.sequence}: Redis lost its data")
        if int(seq or 0) < at.sequence:
            raise JournalFault(f"{self.symbol}: the journal is at sequence {int(seq or 0)}, behind the ledger's "
                               f"{at.sequence}: Redis lost its latest writes")

    def _stop(self, why: str) -> None:
        log.critical("ledger of record stopped for %s: %s. Trading and live balances go on; see "
                     "`python -m ledger recover` (ledger/README.md)", self.symbol, why)
        self.client.set(keys.journal_fault(self.symbol), orjson.dumps({"fault": why, "time": int(time.time() * 1000)}))
        self.halted = True
        self._next_look = time.monotonic() + 1.0

    def _fault_cleared(self) -> bool:
        """While halted, look now and then whether an operator cleared the fault (recovered)."""
        now = time.monotonic()
        if now < self._next_look:
            return False
        self._next_look = now + 1.0
        self.halted = bool(self.client.exists(keys.journal_fault(self.symbol)))
        return not self.halted

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
        self._group_ready = True
