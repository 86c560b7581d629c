"""The journal's archive: every event of every symbol, copied to MongoDB exactly once.

Redis keeps what is live and trims its journal; MongoDB's ``events`` keeps
everything that happened, for history, export and replay. One worker at a time
holds a symbol's lease and copies its journal in buckets: one document holds a
run of consecutive events (up to ``BUCKET_EVENTS``, or what ``BUCKET_WAIT_MS``
gathered), so the embedded MongoDB server, which writes a few thousand
documents a second, keeps up with an engine that makes thousands of events a
second.

Exactly once, whatever crashes: each bucket is written in one transaction with
the archive's cursor (``archive_cursors``: epoch, sequence, entry id), and
starts right after the last one (``_id`` = symbol, epoch and first sequence).
A holder reads where to go on from that cursor whenever it takes the lease. A
holder that lost its lease unawares writes a bucket whose ``_id`` already
exists: MongoDB refuses the transaction, and the holder reads the cursor again.
The Redis cursor ``keys.archived_cursor`` only tells retention how far it may
trim; it is written after the bucket, so it is never ahead of the archive.

A journal that stops continuing the archive within its epoch (Redis lost its
latest writes) stops the symbol's archive with a CRITICAL log line. A new
epoch starts a new run of buckets, at whatever sequence it starts: 1 when
Redis lost everything, or where the old one ended after ``ledger recover``.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

from exchange import journal, keys, mongo
from exchange.metrics import APPLIED_SEQUENCE
from exchange.streams import entry_order
from ledger.journal_worker import JournalWorker

BUCKET_EVENTS = 500
BUCKET_WAIT_MS = 1000  # a bucket with fewer events waits until its first event is this old
FAULT_LOG_EVERY_S = 60.0
FAULT_RETRY_S = 5.0  # a stopped archive looks again this often (ledger recover may have moved the journal on)
log = logging.getLogger("ledger.archive")


class ArchiveGap(Exception):
    """The journal does not continue the archive: events between them are lost."""


@dataclass(frozen=True)
class ArchivePosition:
    """The last event the archive holds for a symbol (epoch None: none yet)."""
    epoch: int | None = None
    sequence: int = 0
    entry_id: bytes = b"0-0"


def bucket_id(symbol: str, epoch: int, first_sequence: int) -> str:
    return f"{symbol}:{epoch}:{first_sequence:012d}"


def archived_position(db: Database, symbol: str) -> ArchivePosition:
    """Where the symbol's archive ends (its cursor, written with each bucket)."""
    cursor = db[mongo.ARCHIVE_CURSORS].find_one({"_id": symbol})
    if cursor is None:
        return ArchivePosition()
    return ArchivePosition(cursor["epoch"], cursor["sequence"], cursor["entry_id"].encode())


def next_bucket(symbol: str, position: ArchivePosition, entries: list[tuple[bytes, dict[str, Any]]]) -> dict:
    """The bucket that continues ``position`` with journal ``entries`` (as ``journal.read_documents``
    gives them): the run of them in the first entry's epoch. Raises ArchiveGap if they do not
    continue the archive."""
    events = [document for _entry_id, document in entries]
    epoch = events[0]["epoch"]
    if position.epoch == epoch and events[0]["sequence"] != position.sequence + 1:
        raise ArchiveGap(f"{symbol}: the archive holds epoch {epoch} up to sequence {position.sequence}, the "
                         f"journal goes on at {events[0]['sequence']}")
    if position.epoch is not None and epoch < position.epoch:
        raise ArchiveGap(f"{symbol}: the journal is in epoch {epoch}, older than the archive's {position.epoch}")
    run = 1
    while run < len(events) and events[run]["epoch"] == epoch:
        if events[run]["sequence"] != events[run - 1]["sequence"] + 1:
            raise ArchiveGap(f"{symbol}: the journal skips from {events[run - 1]['sequence']} "
                             f"to {events[run]['sequence']}")
        run += 1
    events = events[:run]
    return {"_id": bucket_id(symbol, epoch, events[0]["sequence"]), "symbol": symbol, "epoch": epoch,
            "first_sequence": events[0]["sequence"], "last_sequence": events[-1]["sequence"],
            "first_time": events[0]["time"], "last_time": events[-1]["time"],
            "last_entry_id": entries[run - 1][0].decode(), "events": events}


class JournalArchiver(JournalWorker):
    def __init__(self, client: redis.Redis, symbol: str, db: Database, *, batch_size: int = BUCKET_EVENTS,
                 wait_ms: int = BUCKET_WAIT_MS, lease_ms: int = 3000):
        super().__init__(client, symbol, keys.archive_lease(symbol), batch_size, lease_ms)
        self.db = db
        self.wait_ms = wait_ms
        self.position: ArchivePosition | None = None  # None: read it from the archive
        self.tenure = 0  # the lease's acquisitions when the position was read
        self.fault: str | None = None
        self.faulted_at = 0.0
        self._fault_logged = -FAULT_LOG_EVERY_S

    def apply_batch(self) -> int:
        if self.position is None or self.tenure != self.lease.acquisitions:
            self.position, self.tenure = archived_position(self.db, self.symbol), self.lease.acquisitions
            self.fault = None
        if self.fault is not None:
            if time.monotonic() - self.faulted_at < FAULT_RETRY_S:
                return 0
            self.fault, self.position = None, archived_position(self.db, self.symbol)
        entries = self._read()
        if not entries or (len(entries) < self.batch_size and not self._waited(entries[0][0])):
            return 0
        try:
            bucket = next_bucket(self.symbol, self.position, journal.read_documents(entries))
        except ArchiveGap as gap:
            self.fault, self.faulted_at = str(gap), time.monotonic()
            self._log_fault()
            return 0
        return self._write(bucket)

    def _read(self) -> list:
        if self.position is None:
            raise RuntimeError("the archive's position is read first (apply_batch)")
        entries = self.client.xrange(keys.events(self.symbol), min=b"(" + self.position.entry_id,
                                     count=self.batch_size)
        if entries or self.position.epoch is None:
            return entries
        # Nothing after the archive's last entry: is that entry gone (Redis lost its data and the
        # journal started again in a new epoch, its ids maybe below the old ones)?
        if self.client.xrange(keys.events(self.symbol), min=self.position.entry_id, max=self.position.entry_id):
            return []
        return [(entry_id, fields) for entry_id, fields in
                self.client.xrange(keys.events(self.symbol), min=b"0-0", count=self.batch_size)]

    def _waited(self, first_entry_id: bytes) -> bool:
        """Whether a short bucket's first event has waited long enough for company."""
        return entry_order(first_entry_id)[0] <= time.time() * 1000 - self.wait_ms

    def _write(self, bucket: dict) -> int:
        """The bucket and the archive's cursor, in one transaction: a bucket another holder wrote
        first (the same ``_id``) aborts it."""
        def write(session) -> None:
            self.db[mongo.EVENTS].insert_one(bucket, session=session)
            self.db[mongo.ARCHIVE_CURSORS].update_one(
                {"_id": self.symbol}, {"$set": {"epoch": bucket["epoch"], "sequence": bucket["last_sequence"],
                                                "entry_id": bucket["last_entry_id"]}},
                upsert=True, session=session)
        try:
            with self.db.client.start_session() as session:
                session.with_transaction(write)
        except (DuplicateKeyError, OperationFailure) as error:  # another holder archived it first
            log.info("archive of %s: %s; reading its position again", self.symbol, error)
            self.position = None
            return 0
        self.position = ArchivePosition(bucket["epoch"], bucket["last_sequence"], bucket["last_entry_id"].encode())
        self.client.set(keys.archived_cursor(self.symbol), bucket["last_entry_id"])
        APPLIED_SEQUENCE.labels(self.symbol, "archive").set(bucket["last_sequence"])
        return len(bucket["events"])

    def _log_fault(self) -> None:
        now = time.monotonic()
        if now - self._fault_logged >= FAULT_LOG_EVERY_S:
            self._fault_logged = now
            log.critical("archive stopped for %s: %s. Retention keeps the journal meanwhile; see ledger/README.md",
                         self.symbol, self.fault)


def archived_epochs(db: Database, symbol: str) -> list[int]:
    """The journal epochs the archive holds for a symbol, oldest first."""
    return sorted(db[mongo.EVENTS].distinct("epoch", {"symbol": symbol}))


def archived_events(db: Database, symbol: str, epoch: int | None = None) -> Iterator[journal.JournalEvent]:
    """The symbol's archived events of ``epoch`` (default: the newest), in sequence order, a bucket
    at a time."""
    if epoch is None:
        epochs = archived_epochs(db, symbol)
        if not epochs:
            return
        epoch = epochs[-1]
    buckets = db[mongo.EVENTS].find({"symbol": symbol, "epoch": epoch}, batch_size=20).sort("first_sequence", 1)
    for bucket in buckets:
        for document in bucket["events"]:
            yield journal.from_document(document)
