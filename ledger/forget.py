"""Archive, then forget: done orders leave Redis for MongoDB's ``orders``.

Redis holds what is live: open orders, and done orders for a while
(``ORDER_ARCHIVE_AFTER_S``, for their owners' and the feeds' recent reads). The
matcher indexes each order that ends by the journal sequence it ended at
(``keys.done_orders``). An order leaves Redis (its state, its fills list, its
entry in its owner's list) once every reader of the journal has passed that
sequence (live settlement, the ledger of record, the ticker, the archive) and
the delay has gone by since it ended.

It is copied first: MongoDB's ``orders`` gets the final state with its fills
(``_id`` = order id, so a copy made again after a crash is refused as a
duplicate and changes nothing), and only then is it deleted from Redis, the
index entry last. So at every moment an order is in Redis, in MongoDB, or in
both, and a reader that looks in Redis and then in MongoDB always finds it.
"""
from __future__ import annotations

import orjson
import redis
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from exchange import keys, mongo
from exchange.journal import OrderRecord
from exchange.streams import entry_order

FORGET_BATCH = 500
DUPLICATE_KEY = 11000


def passed_sequence(client: redis.Redis, db: Database, symbol: str) -> int:
    """The last journal sequence every reader has applied (0: not known yet, or the ledger of
    record is in another epoch than the journal)."""
    pipe = client.pipeline(transaction=False)
    for cursor in (keys.settled_cursor(symbol), keys.ticker_cursor(symbol), keys.archived_cursor(symbol)):
        pipe.get(cursor)
    pipe.get(keys.epoch(symbol))
    *cursors, epoch = pipe.execute()
    if None in cursors or epoch is None:
        return 0
    slowest = min(cursors, key=entry_order)
    entry = client.xrange(keys.events(symbol), min=slowest, max=slowest, count=1)
    ledger = db[mongo.CURSORS].find_one({"_id": symbol}) or {}
    if not entry or ledger.get("epoch") != int(epoch):
        return 0
    return min(int(entry[0][1][b"sequence"]), ledger["sequence"])


def forget_done_orders(client: redis.Redis, db: Database, symbol: str, *, older_than_ms: int,
                       limit: int = FORGET_BATCH) -> int:
    """Copy to MongoDB, then drop from Redis, up to ``limit`` done orders every reader has passed
    and that ended before ``older_than_ms``; returns how many left Redis."""
    passed = passed_sequence(client, db, symbol)
    if not passed:
        return 0
    order_ids = [m.decode() for m in client.zrangebyscore(keys.done_orders(symbol), "-inf", passed,
                                                          start=0, num=limit)]
    if not order_ids or not _oldest_is_due(client, symbol, order_ids[0], older_than_ms):
        return 0
    pipe = client.pipeline(transaction=False)
    pipe.hmget(keys.orders(symbol), order_ids)
    for order_id in order_ids:
        pipe.lrange(keys.fills(symbol, order_id), 0, -1)
    raw_states, *raw_fills = pipe.execute()
    gone = [order_id for order_id, raw in zip(order_ids, raw_states) if raw is None]  # a crash mid-forget
    leaving = [order_record(orjson.loads(raw), fills)
               for raw, fills in zip(raw_states, raw_fills) if raw is not None]
    leaving = [record for record in leaving if record["updated_ms"] < older_than_ms]
    if leaving:
        store(db, leaving)
    drop(client, symbol, leaving, gone)
    return len(leaving)


def _oldest_is_due(client: redis.Redis, symbol: str, order_id: str, older_than_ms: int) -> bool:
    """Whether the done order that ended first ended before ``older_than_ms`` (or is gone). The index
    is in journal order, the order in which they ended, so while the first is not due the rest are
    not either, and a pass reads one state instead of a batch of states and fills. (An order's time
    is its matcher's clock: after a hand-over between matchers whose clocks differ, a due order
    behind one that is not due yet waits for it, for as long as the clocks differ.)"""
    raw = client.hget(keys.orders(symbol), order_id)
    return raw is None or orjson.loads(raw)["updated_ms"] < older_than_ms


def order_record(state: OrderRecord, raw_fills: list[bytes]) -> dict:
    """The ``orders`` document: the order's final state and its fills."""
    return {"_id": state["order_id"], **state, "fills": [orjson.loads(fill) for fill in raw_fills]}


def store(db: Database, records: list[dict]) -> None:
    try:
        db[mongo.ORDERS].insert_many(records, ordered=False)
    except BulkWriteError as error:  # copied already by a pass that crashed before dropping them
        if any(e["code"] != DUPLICATE_KEY for e in error.details["writeErrors"]):
            raise


def drop(client: redis.Redis, symbol: str, records: list[dict], gone: list[str]) -> None:
    """Owners' lists first; then each state with its fills list, together (one slot, one MULTI:
    a reader never sees the state without its fills); the index entry last. A pass that crashed
    half way finds the order again, or its state gone, and finishes."""
    order_ids = [record["_id"] for record in records]
    if records:
        owners = client.pipeline(transaction=False)
        for record in records:
            owners.zrem(keys.user_orders(record["user_id"]), record["_id"])
        owners.execute()
        states = client.pipeline(transaction=True)
        states.delete(*[keys.fills(symbol, order_id) for order_id in order_ids])
        states.hdel(keys.orders(symbol), *order_ids)
        states.execute()
    if order_ids or gone:
        client.zrem(keys.done_orders(symbol), *order_ids, *gone)
