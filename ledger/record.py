"""The ledger of record in MongoDB: one transaction per journal batch.

A batch's netted account deltas, its trades and fills, and the symbol's cursor
(the last journal sequence applied) commit together. The transaction skips
events at or below the cursor and refuses a gap, so a redelivered or
overlapping batch changes nothing and no event is applied twice or skipped.
"""
from __future__ import annotations

from pymongo import MongoClient, UpdateOne
from pymongo.database import Database

from exchange import mongo
from ledger.settlement import net_deltas, trade_records


class JournalGap(Exception):
    """A batch started past the cursor: something upstream lost events."""


class LedgerOfRecord:
    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.db = db

    def applied_sequence(self, symbol: str) -> int:
        cursor = self.db[mongo.CURSORS].find_one({"_id": symbol})
        return cursor["sequence"] if cursor else 0

    def fills(self, user_id: str, symbol: str | None, limit: int) -> list[dict]:
        """A user's fills, newest first."""
        query = {"user_id": user_id, **({"symbol": symbol} if symbol else {})}
        return list(self.db[mongo.FILLS].find(query).sort([("time", -1), ("sequence", -1)]).limit(limit))

    def apply(self, symbol: str, events: list[dict]) -> int:
        """Apply the events above the cursor; returns how many were new."""
        with self.client.start_session() as session:
            return session.with_transaction(lambda s: self._apply(s, symbol, events))

    def _apply(self, session, symbol: str, events: list[dict]) -> int:
        cursor = self.db[mongo.CURSORS].find_one({"_id": symbol}, session=session)
        last = cursor["sequence"] if cursor else 0
        fresh = [e for e in events if e["sequence"] > last]
        if not fresh:
            return 0
        if fresh[0]["sequence"] != last + 1:
            raise JournalGap(f"{symbol}: ledger is at {last}, batch starts at {fresh[0]['sequence']}")
        updates = [UpdateOne({"_id": user_id}, {"$inc": paths}, upsert=True)
                   for user_id, paths in net_deltas(fresh).items() if paths]
        if updates:
            self.db[mongo.ACCOUNTS].bulk_write(updates, ordered=False, session=session)
        trades, fills = trade_records(fresh)
        if trades:
            self.db[mongo.TRADES].insert_many(trades, session=session)
            self.db[mongo.FILLS].insert_many(fills, session=session)
        self.db[mongo.CURSORS].update_one({"_id": symbol}, {"$set": {"sequence": fresh[-1]["sequence"]}},
                                          upsert=True, session=session)
        return len(fresh)
