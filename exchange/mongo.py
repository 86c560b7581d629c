"""MongoDB collections and their indexes, in one place.

Only processes that never run under eventlet import this module.
"""
from __future__ import annotations

import logging
import threading
import time

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import ConnectionFailure

USERS = "users"        # {_id: user_id, username, password_hash, created_ms}
ACCOUNTS = "accounts"  # {_id: user_id, cash: {available, on_hold}, positions: {SYM: {available, on_hold}}, issued}
# {_id: trade_id, symbol, epoch, sequence, price, quantity, time, taker_side, buy_order_id, sell_order_id,
#  buyer_id, seller_id, user_ids: [buyer_id, seller_id], buyer_fee, seller_fee}: a user's fills are read
#  out of these (exchange/trade_fills.py)
TRADES = "trades"
FILLS = "fills"  # before fills were read out of trades: a document per side; ledger/backfill.py drops it
CANDLES = "candles"    # {_id: "SYM:start", symbol, start, open, high, low, close, volume, trades}: closed minutes
CURSORS = "ledger_cursors"  # {_id: symbol, sequence, epoch, entry_id}: the last journal event the ledger applied
# A run of one symbol's consecutive journal events (at most ARCHIVE_BUCKET_EVENTS), archived once:
# {_id: "SYM:epoch:first_sequence", symbol, epoch, first_sequence, last_sequence, first_time,
#  last_time, last_entry_id, events: [event, ...]}
EVENTS = "events"
ARCHIVE_CURSORS = "archive_cursors"  # {_id: symbol, epoch, sequence, entry_id}: the archive's last event
# Done orders that left Redis (ledger/forget.py): {_id: order_id, ...the order's final state..., fills: [...]}
ORDERS = "orders"
MIGRATIONS = "migrations"  # {_id: step, fixed, time}: the backfills done once (ledger/backfill.py)
BOTS = "bots"          # {_id: bot_id, owner_id, name, rule, status, step, action_index, claim, last_action, ...}
BOT_SLOTS = "bot_slots"  # {_id: "owner:n", owner_id, slot: n, bot_id, taken}: a place under BOT_MAX_ACTIVE


log = logging.getLogger("exchange.mongo")
_clients: dict[str, MongoClient] = {}


def client(url: str) -> MongoClient:
    """One client per URL per process (pymongo pools connections inside it)."""
    if url not in _clients:
        _clients[url] = MongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=True)
    return _clients[url]


_pingers: dict[str, MongoClient] = {}


def ping(url: str, timeout_ms: int = 1000) -> None:
    """Raise ConnectionFailure unless MongoDB answers within about ``timeout_ms`` (a health check
    must not wait the 5 s server selection the other clients allow)."""
    if url not in _pingers:
        _pingers[url] = MongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    _pingers[url].admin.command("ping")


def close_all() -> None:
    """Close every client this process opened (tests and clean shutdowns)."""
    for cached in [*_clients.values(), *_pingers.values()]:
        cached.close()
    _clients.clear()
    _pingers.clear()


def database(url: str, name: str) -> Database:
    return client(url)[name]


def ensure_indexes_soon(db: Database, retry_s: float = 5.0) -> None:
    """ensure_indexes, now if MongoDB answers, else retried in a background thread: a process
    (an API replica) restarted while MongoDB is away must still start and serve what it can."""
    try:
        ensure_indexes(db)
        return
    except ConnectionFailure as error:
        log.warning("MongoDB unavailable (%s); creating its indexes once it is back", error)

    def retry() -> None:
        while True:
            time.sleep(retry_s)
            try:
                return ensure_indexes(db)
            except ConnectionFailure:
                continue
            except Exception as error:  # noqa: BLE001 - e.g. the client was closed: nothing to wait for
                log.warning("MongoDB's indexes were not created: %s", error)
                return
    threading.Thread(target=retry, name="mongo-indexes", daemon=True).start()


def ensure_indexes(db: Database) -> None:
    db[USERS].create_index([("username", ASCENDING)], unique=True, name="username_unique")
    db[CANDLES].create_index([("symbol", ASCENDING), ("start", ASCENDING)], name="candles_by_time")
    # A user's fills newest first (GET /fills), oldest first (GET /fills.csv), out of their trades: one
    # multikey index on both sides' users (SecantusDB plans an $or over buyer_id and seller_id as a scan).
    db[TRADES].create_index([("user_ids", ASCENDING), ("time", ASCENDING), ("_id", ASCENDING)],
                            name="trades_by_user")
    db[TRADES].create_index([("time", ASCENDING), ("_id", ASCENDING)], name="trades_by_time")  # exports
    db[ORDERS].create_index([("created_ms", ASCENDING), ("_id", ASCENDING)], name="orders_by_time")  # exports
    db[EVENTS].create_index([("symbol", ASCENDING), ("epoch", DESCENDING), ("first_sequence", DESCENDING)],
                            name="events_by_sequence")
    db[TRADES].create_index([("symbol", ASCENDING), ("epoch", DESCENDING), ("sequence", DESCENDING)],
                            name="trades_by_sequence")
    db[ORDERS].create_index([("user_id", ASCENDING), ("created_ms", DESCENDING), ("_id", DESCENDING)],
                            name="orders_by_user")
    db[BOTS].create_index([("owner_id", ASCENDING), ("created", ASCENDING)], name="bots_by_owner")
    db[BOTS].create_index([("status", ASCENDING)], name="bots_by_status")
    db[BOT_SLOTS].create_index([("owner_id", ASCENDING)], name="bot_slots_by_owner")
