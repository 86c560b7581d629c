"""Feeds a symbol's journal to the ledger of record through a Redis consumer group.

One worker at a time holds a symbol's lease and reads in order: first the
entries an earlier holder read but never acknowledged (XAUTOCLAIM), then new
ones. It acknowledges only after the MongoDB transaction commits; a crash in
between means the next holder claims and re-applies the batch, which the
ledger's cursor turns into a no-op.
"""
from __future__ import annotations

import orjson
import redis

from exchange import keys
from ledger.journal_worker import JournalWorker
from ledger.record import LedgerOfRecord

GROUP = "ledger"


class JournalConsumer(JournalWorker):
    def __init__(self, client: redis.Redis, symbol: str, ledger: LedgerOfRecord, consumer: str,
                 batch_size: int = 500, lease_ms: int = 3000):
        super().__init__(client, symbol, keys.ledger_lease(symbol), batch_size, lease_ms)
        self.ledger = ledger
        self.consumer = consumer
        self.stream = keys.events(symbol)
        self._group_ready = False

    def step(self) -> int:
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
            return 0
        self.ledger.apply(self.symbol, [orjson.loads(fields[b"event"]) for _id, fields in entries])
        self.client.xack(self.stream, GROUP, *[entry_id for entry_id, _ in entries])
        return len(entries)

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
        self._group_ready = True
