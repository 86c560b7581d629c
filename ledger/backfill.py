"""Data written before the archive and the history existed, brought up to what they need.

Run by the ledger worker as it starts; each step is idempotent, and leaves a
marker so that later starts skip it:
- a trade in MongoDB without its journal ``epoch`` (it pages by epoch and
  sequence) gets the one its trade id names (``SYM-epoch-sequence``; 0 for an
  id from before journals had epochs);
- a trade in MongoDB without ``user_ids`` (a user's fills are read through
  it) gets its buyer and seller; then the ``fills`` collection, which held a
  document per side of each trade before the trade document served as both,
  is dropped: every field it held is in the trade;
- a done order in Redis that the matcher never indexed (``keys.done_orders``)
  is indexed at the symbol's current sequence, so it leaves Redis once every
  reader has passed that (it ended earlier still).
"""
from __future__ import annotations

import time

import orjson
import redis
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from exchange import keys, mongo
from exchange.journal import Status

TRADES_EPOCH = "trades_epoch"
FILLS_IN_TRADES = "fills_in_trades"


def backfill(client: redis.Redis, db: Database, symbols: tuple[str, ...]) -> list[str]:
    """What it did, a line per step that had something to do."""
    lines = []
    for step, run, done in ((TRADES_EPOCH, _trades_epoch, "trade(s) got their journal epoch"),
                            (FILLS_IN_TRADES, _fills_in_trades, "trade(s) got their users, and hold their fills")):
        if db[mongo.MIGRATIONS].find_one({"_id": step}) is None:
            fixed = run(db)
            try:
                db[mongo.MIGRATIONS].insert_one({"_id": step, "fixed": fixed, "time": int(time.time() * 1000)})
            except DuplicateKeyError:  # another worker finished it too
                pass
            if fixed:
                lines.append(f"backfill: {fixed} {done}")
    for symbol in symbols:
        if not client.exists(keys.done_backfilled(symbol)):
            indexed = _index_done_orders(client, symbol)
            client.set(keys.done_backfilled(symbol), indexed)
            if indexed:
                lines.append(f"backfill: {symbol}: {indexed} done order(s) indexed to leave Redis")
    return lines


def _trades_epoch(db: Database) -> int:
    fixed = 0
    for doc in db[mongo.TRADES].find({"epoch": {"$exists": False}}, {"_id": 1}):
        parts = doc["_id"].rsplit("-", 2)
        epoch = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
        db[mongo.TRADES].update_one({"_id": doc["_id"]}, {"$set": {"epoch": epoch}})
        fixed += 1
    return fixed


def _fills_in_trades(db: Database) -> int:
    """Idempotent: a crash before the marker runs it again, and finds what is left."""
    fixed = 0
    for doc in list(db[mongo.TRADES].find({"user_ids": {"$exists": False}}, {"buyer_id": 1, "seller_id": 1})):
        db[mongo.TRADES].update_one({"_id": doc["_id"]}, {"$set": {"user_ids": [doc["buyer_id"], doc["seller_id"]]}})
        fixed += 1
    db.drop_collection(mongo.FILLS)
    return fixed


def _index_done_orders(client: redis.Redis, symbol: str) -> int:
    """NX: an order the matcher indexes meanwhile keeps the sequence it gave it."""
    at = int(client.get(keys.seq(symbol)) or 0)  # read first: whatever ended before the scan ended by then
    indexed = 0
    for order_id, raw in client.hscan_iter(keys.orders(symbol), count=1000):
        if Status(orjson.loads(raw)["status"]).is_done:
            indexed += client.zadd(keys.done_orders(symbol), {order_id: at}, nx=True)
    return indexed
