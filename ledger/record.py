"""The ledger of record in MongoDB: one transaction per journal batch.

A batch's netted account deltas, its trades (each with both its fills), and the symbol's cursor
(the last journal sequence applied, its epoch and stream id) commit together.
The transaction skips events at or below the cursor and refuses a gap, so a
redelivered or overlapping batch changes nothing and no event is applied twice
or skipped. An event from another epoch, or one that reuses a sequence the
ledger applied (a later stream id), is a JournalFault: Redis lost data, and
skipping such events as "already applied" would lose them silently.
"""
from __future__ import annotations

from dataclasses import dataclass

from pymongo import MongoClient, UpdateOne
from pymongo.database import Database

from exchange import mongo
from exchange.journal import JournalEvent
from exchange.streams import entry_order
from ledger.postings import net_deltas, trade_documents


class JournalFault(Exception):
    """The journal no longer continues what the ledger applied (Redis lost data): stop, loudly."""


class JournalGap(JournalFault):
    """A batch started past the cursor: something upstream lost events."""


@dataclass(frozen=True)
class Position:
    """Where the ledger of record is in a symbol's journal."""

    sequence: int = 0
    epoch: int | None = None  # None: before any event, or a journal older than epochs
    entry_id: str | None = None  # the stream id of the last event applied


class LedgerOfRecord:
    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.db = db

    def applied_sequence(self, symbol: str) -> int:
        return self.position(symbol).sequence

    def position(self, symbol: str, session=None) -> Position:
        cursor = self.db[mongo.CURSORS].find_one({"_id": symbol}, session=session) or {}
        return Position(cursor.get("sequence", 0), cursor.get("epoch"), cursor.get("entry_id"))

    def apply(self, symbol: str, entries: list[tuple[bytes, JournalEvent]]) -> int:
        """Apply the journal entries (stream id, event) above the cursor; returns how many were
        new. JournalFault if the journal does not continue what was applied."""
        with self.client.start_session() as session:
            return session.with_transaction(lambda s: self._apply(s, symbol, entries))

    def _apply(self, session, symbol: str, entries: list[tuple[bytes, JournalEvent]]) -> int:
        at = self.position(symbol, session)
        fresh = fresh_entries(symbol, at, entries)
        if not fresh:
            return 0
        if fresh[0][1].sequence != at.sequence + 1:
            raise JournalGap(f"{symbol}: ledger is at {at.sequence}, batch starts at {fresh[0][1].sequence}")
        events = [event for _id, event in fresh]
        self.write(session, symbol, events)
        last_id, last = fresh[-1]
        self.db[mongo.CURSORS].update_one(
            {"_id": symbol}, {"$set": {"sequence": last.sequence, "epoch": last.epoch,
                                       "entry_id": _text(last_id)}}, upsert=True, session=session)
        return len(fresh)

    def write(self, session, symbol: str, events: list[JournalEvent]) -> None:
        """The events' netted account deltas and trades (the cursor is the caller's)."""
        updates = [UpdateOne({"_id": user_id}, {"$inc": paths}, upsert=True)
                   for user_id, paths in net_deltas(events).items() if paths]
        if updates:
            self.db[mongo.ACCOUNTS].bulk_write(updates, ordered=False, session=session)
        trades = trade_documents(events)
        if trades:  # each holds both its fills (exchange/trade_fills.py)
            self.db[mongo.TRADES].insert_many(trades, session=session)


def fresh_entries(symbol: str, at: Position, entries: list[tuple[bytes, JournalEvent]]) -> list[tuple[bytes, JournalEvent]]:
    """The entries after ``at``; JournalFault if the journal is not the one the ledger followed:
    another epoch (Redis lost everything), or a sequence the ledger applied written again by a
    later entry (Redis lost its latest writes and reused the sequences)."""
    fresh = []
    for entry_id, event in entries:
        if at.entry_id is not None and entry_order(entry_id) <= entry_order(at.entry_id):
            continue  # applied already (a redelivery)
        epoch = event.epoch
        if at.epoch is not None and epoch != at.epoch:
            raise JournalFault(f"{symbol}: the journal is in epoch {epoch}, the ledger applied epoch {at.epoch} "
                               f"up to sequence {at.sequence}: Redis lost its data")
        if event.sequence > at.sequence:
            fresh.append((entry_id, event))
        elif at.entry_id is not None:
            raise JournalFault(f"{symbol}: sequence {event.sequence} was written again (entry {_text(entry_id)}) "
                               f"after the ledger applied it (up to entry {at.entry_id}): Redis lost its "
                               "latest writes")
    return fresh


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
