"""`python -m ledger recover`: resume the ledger of record after Redis lost data.

When Redis loses data (it restarted empty, or a crash lost its append-only
file's last second), a symbol's journal stops continuing what the ledger of
record (MongoDB) applied: a new epoch, or sequences written again. The ledger
stops applying that symbol (``ledger.consumer``). The two stores then disagree
in ways no replay can settle: the ledger may hold trades Redis lost, Redis may
hold trades made since, and the books may hold orders the ledger saw fill.

Recovery takes the ledger of record as the truth and makes Redis agree with it.
It runs with every writer stopped (API replicas, matchers, the ledger worker,
the bot runner):

1. every faulted symbol gets a new epoch, and its book is emptied through the
   book itself: pending commands are matched and every resting order is
   canceled (``canceled``, like any cancel);
2. the ledger adopts every journal entry after the last one it applied
   (including those cancels); a trade whose id it already holds for a different
   trade (a sequence reused after a loss) keeps its journal id, and the
   ledger's older record of that id is kept as ``<id>~lost``;
3. every account's amount on hold in the ledger becomes what its open orders
   need (the orders that held the rest are gone);
4. every live account is rewritten from the ledger, with one hold record per
   open order, and live settlement resumes after the journal's last entry;
5. the faults are cleared, so the ledger worker goes on.
Open orders on the faulted symbols are canceled; no money is created or lost.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import cast

import orjson
import redis
from pymongo import MongoClient
from pymongo.database import Database

from exchange import journal, keys, mongo
from exchange.config import Settings
from exchange.journal import OrderRecord, Side
from exchange.money import CASH
from ledger.audit import journal_problems
from ledger.consumer import GROUP
from ledger.postings import buys_field, hold_asset
from ledger.record import LedgerOfRecord
from orderbook.commands import encode_cancel, hold_for
from orderbook.matcher import SymbolMatcher

LOCK_PREFIX = "redlock:"  # pottery's prefix for a Redlock's key


class RecoveryRefused(Exception):
    pass


def faulted_symbols(client: redis.Redis, db: Database, symbols: tuple[str, ...]) -> list[str]:
    return sorted({problem.split(":", 1)[0] for problem in journal_problems(client, db, symbols)})


def recover(client: redis.Redis, settings: Settings, mongo_client: MongoClient, db: Database) -> list[str]:
    """Recover every faulted symbol; returns what was done. RecoveryRefused while writers run."""
    faulted = faulted_symbols(client, db, settings.symbols)
    if not faulted:
        return ["nothing to recover: every journal continues what the ledger of record applied"]
    _refuse_while_writing(client, settings.symbols)
    ledger = LedgerOfRecord(mongo_client, db)
    lines = []
    for symbol in faulted:
        client.set(keys.epoch(symbol), int(time.time() * 1000))
        lines.append(f"{symbol}: canceled {_empty_book(client, settings, symbol)} open order(s) through the book")
        lines.append(f"{symbol}: the ledger adopted {_adopt(ledger, client, symbol)} journal entries")
    for symbol in set(settings.symbols) - set(faulted):
        _adopt(ledger, client, symbol)  # the others' ledgers may lag: bring them to the journal's end too
    resting = {symbol: _open_states(client, symbol) for symbol in settings.symbols}
    needed = _holds_needed(resting)
    lines.append(f"ledger: amounts on hold set to what open orders need in {_settle_holds(db, needed)} account(s)")
    rewritten = _rewrite_live_accounts(client, db, settings.symbols, needed, _buys_open(resting))
    lines.append(f"live: {rewritten} account(s) rewritten "
                 "from the ledger of record")
    for symbol in faulted:
        client.delete(keys.journal_fault(symbol))
    return lines


def _refuse_while_writing(client: redis.Redis, symbols: tuple[str, ...]) -> None:
    for symbol in symbols:
        for key, who in ((keys.lock(symbol), "a matcher"), (keys.settlement_lease(symbol), "a ledger worker"),
                         (keys.ledger_lease(symbol), "a ledger worker"),
                         (keys.archive_lease(symbol), "a ledger worker")):
            if client.exists(LOCK_PREFIX + key):
                raise RecoveryRefused(f"{who} is working on {symbol}: stop the API replicas, matchers, ledger "
                                      "workers and the bot runner first, then run recover again")


def _empty_book(client: redis.Redis, settings: Settings, symbol: str) -> int:
    """Match what is pending, then cancel every open order; returns how many were canceled."""
    matcher = SymbolMatcher.for_settings(client, symbol, settings)
    matcher.drain()
    states = _open_states(client, symbol)
    pipe = client.pipeline(transaction=False)
    for state in states:
        pipe.xadd(keys.inbox(symbol), {"c": encode_cancel(state["order_id"], state["user_id"]),
                                       "r": uuid.uuid4().hex})
    pipe.execute()
    matcher.drain()
    return len(states)


def _adopt(ledger: LedgerOfRecord, client: redis.Redis, symbol: str) -> int:
    """Apply every journal entry after the ledger's last one, whatever its epoch and sequence."""
    at = ledger.position(symbol)
    start = b"(" + at.entry_id.encode() if at.entry_id else b"-"
    entries = client.xrange(keys.events(symbol), min=start)
    events = [event for _id, event in journal.read_entries(entries)]
    if at.entry_id is None:  # a ledger from before stream ids were kept: only what it has not applied
        events = [e for e in events if e.sequence > at.sequence or e.epoch != at.epoch]
    # The ledger follows the journal's epoch from here on, whatever epochs the adopted events were in.
    epoch = int(client.get(keys.epoch(symbol)) or 0) or at.epoch
    cursor = {"sequence": events[-1].sequence, "entry_id": entries[-1][0].decode()} if events else {}
    with ledger.client.start_session() as session:
        session.with_transaction(lambda s: _adopt_events(ledger, s, symbol, events, {**cursor, "epoch": epoch}))
    if events:
        _resume_consumer_group(client, symbol, entries[-1][0])
    return len(events)


def _adopt_events(ledger: LedgerOfRecord, session, symbol: str, events: list[journal.JournalEvent],
                  cursor: dict) -> None:
    trade_ids = [e.trade_id for e in events if isinstance(e, journal.TradeEvent)]
    for older in ledger.db[mongo.TRADES].find({"_id": {"$in": trade_ids}}, session=session):
        _keep_as_lost(ledger.db, session, older)
    if events:
        ledger.write(session, symbol, events)
    ledger.db[mongo.CURSORS].update_one({"_id": symbol}, {"$set": cursor}, upsert=True, session=session)


def _keep_as_lost(db: Database, session, trade: dict) -> None:
    """A trade the ledger holds under an id the journal now gives another trade: Redis lost it.
    Its fills go with it: they are read out of the trade."""
    trade_id = trade["_id"]
    db[mongo.TRADES].delete_one({"_id": trade_id}, session=session)
    db[mongo.TRADES].insert_one({**trade, "_id": f"{trade_id}~lost", "lost_from_journal": True}, session=session)


def _resume_consumer_group(client: redis.Redis, symbol: str, last_id: bytes) -> None:
    """The ledger's consumer group goes on after the adopted entries (they are applied)."""
    stream = keys.events(symbol)
    try:
        client.xgroup_setid(stream, GROUP, last_id)
    except redis.ResponseError:  # no group yet (Redis lost it): make one there
        client.xgroup_create(stream, GROUP, id=last_id, mkstream=True)


def _open_states(client: redis.Redis, symbol: str) -> list[dict]:
    """The states of the orders open on the symbol's book: resting, or parked stops."""
    members = [member for key in (keys.bids(symbol), keys.asks(symbol), keys.stops(symbol))
               for member in client.zrange(key, 0, -1)]
    order_ids = [member.decode().split(":", 1)[1] for member in members]
    return [orjson.loads(raw) for raw in client.hmget(keys.orders(symbol), order_ids)] if order_ids else []


def _holds_needed(resting: dict[str, list[dict]]) -> dict[str, dict[str, dict[str, int]]]:
    """{user: {asset: {order id: hold}}} of every order resting on a book ({symbol: resting states})."""
    needed: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for symbol, states in resting.items():
        for state in states:
            asset = hold_asset(symbol, state["side"])
            needed[state["user_id"]][asset][state["order_id"]] = hold_for(cast(OrderRecord, state),
                                                                          state["remaining_quantity"])
    return needed


def _buys_open(resting: dict[str, list[dict]]) -> dict[str, dict[str, int]]:
    """{user: {live account field: value}}: what each resting buy may still buy (``buys:<order id>``)
    and each symbol's total (``<SYM>:buying``), as place_hold.lua and settlement keep them."""
    fields: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for symbol, states in resting.items():
        for state in states:
            if state["side"] == Side.BUY:
                fields[state["user_id"]][buys_field(state["order_id"])] = state["remaining_quantity"]
                fields[state["user_id"]][f"{symbol}:buying"] += state["remaining_quantity"]
    return fields


def _settle_holds(db: Database, needed: dict) -> int:
    """Each ledger account's on-hold amounts become what its open orders need; the rest is available."""
    changed = 0
    for doc in db[mongo.ACCOUNTS].find({}):
        sets = {}
        amounts = {CASH: doc.get("cash", {}), **doc.get("positions", {})}
        for asset, balance in amounts.items():
            hold = sum(needed.get(doc["_id"], {}).get(asset, {}).values())
            if balance.get("on_hold", 0) != hold:
                total = balance.get("available", 0) + balance.get("on_hold", 0)
                path = "cash" if asset == CASH else f"positions.{asset}"
                sets.update({f"{path}.available": total - hold, f"{path}.on_hold": hold})
        if sets:
            db[mongo.ACCOUNTS].update_one({"_id": doc["_id"]}, {"$set": sets})
            changed += 1
    return changed


def _rewrite_live_accounts(client: redis.Redis, db: Database, symbols: tuple[str, ...], needed: dict,
                           buys: dict[str, dict[str, int]]) -> int:
    """Every live account := its ledger account, one hold record per open order, and each symbol's
    journal marked applied (live settlement resumes after its last entry)."""
    seqs = {symbol: int(client.get(keys.seq(symbol)) or 0) for symbol in symbols}
    count = 0
    for doc in db[mongo.ACCOUNTS].find({}):
        fields = {}
        for asset, balance in {CASH: doc.get("cash", {}), **doc.get("positions", {})}.items():
            fields.update({f"{asset}:available": balance.get("available", 0), f"{asset}:on_hold": balance.get("on_hold", 0)})
        for asset, holds in needed.get(doc["_id"], {}).items():
            fields.update({f"hold:{order_id}:{asset}": amount for order_id, amount in holds.items()})
        fields.update(buys.get(doc["_id"], {}))
        fields.update({f"applied:{symbol}": seq for symbol, seq in seqs.items()})
        pipe = client.pipeline(transaction=True)  # one key: also a cluster-safe transaction
        pipe.delete(keys.account(doc["_id"]))
        pipe.hset(keys.account(doc["_id"]), mapping=fields)
        pipe.execute()
        count += 1
    for symbol in symbols:
        last = client.xrevrange(keys.events(symbol), count=1)
        if last:
            client.set(keys.settled_cursor(symbol), last[0][0])
    return count
