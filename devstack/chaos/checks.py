"""What a chaos run requires at the end, once the load has stopped and settlement caught up:

- `python -m ledger check` passes (conservation in both stores, holds, MongoDB = Redis);
- no balance is negative in either store;
- every trade in the journal is in MongoDB's `trades` exactly once, and no other;
- every order answered 2xx is in its owner's order list.
"""
from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import redis
from pymongo.database import Database
from pymongo.errors import PyMongoError

from bots.swarm import retrying
from devstack.up import ROOT
from exchange import journal, keys, mongo
from exchange_client import ExchangeClient
from ledger.audit import live_accounts, record_accounts

SHOWN = 5  # problems shown per check


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str


def _stream_id(raw: bytes | None) -> tuple[int, int]:
    millis, _, seq = (raw or b"0-0").partition(b"-")
    return int(millis), int(seq or 0)


def settlement_lag(client: redis.Redis, db: Database, symbols: tuple[str, ...]) -> list[str]:
    """What is not settled yet: inboxes not matched, journals not applied to either store."""
    lag = []
    for symbol in symbols:
        last_command = client.xrevrange(keys.inbox(symbol), count=1)
        if last_command and _stream_id(last_command[0][0]) > _stream_id(client.get(keys.cursor(symbol))):
            lag.append(f"{symbol}: commands wait in the inbox")
        last_event = client.xrevrange(keys.events(symbol), count=1)
        if last_event and client.get(keys.settled_cursor(symbol)) != last_event[0][0]:
            lag.append(f"{symbol}: live accounts behind the journal")
        journal = int(client.get(keys.seq(symbol)) or 0)
        cursor = db[mongo.CURSORS].find_one({"_id": symbol})
        applied = cursor["sequence"] if cursor else 0
        if applied != journal:
            lag.append(f"{symbol}: ledger of record at {applied} of {journal}")
    return lag


def wait_for_settlement(client: redis.Redis, db: Database, symbols: tuple[str, ...],
                        timeout_s: float = 180.0) -> tuple[float, list[str]]:
    """Seconds until every symbol is settled in both stores, and what still lags at the timeout."""
    started = time.monotonic()
    while True:
        try:
            lag = settlement_lag(client, db, symbols)
        except (redis.RedisError, PyMongoError) as error:
            lag = [f"a store does not answer: {error}"]
        if not lag or time.monotonic() - started > timeout_s:
            return time.monotonic() - started, lag
        time.sleep(0.5)


def ledger_check(env: dict[str, str]) -> CheckResult:
    done = subprocess.run([sys.executable, "-m", "ledger", "check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    problems = [line for line in done.stdout.splitlines() if line.startswith("PROBLEM")]
    last = (done.stdout.strip().splitlines() or [done.stderr.strip()[-300:]])[-1]
    detail = "; ".join([last, *problems[:SHOWN]]) if done.returncode else last
    return CheckResult("ledger check", done.returncode == 0, detail)


def no_negative_balance(client: redis.Redis, db: Database) -> CheckResult:
    problems = []
    live, record = live_accounts(client), record_accounts(db)
    for store, accounts in (("Redis", live), ("MongoDB", record)):
        problems += [f"{store} {user_id} {name} = {value}" for user_id, fields in accounts.items()
                     for name, value in fields.items() if value < 0]
        if not accounts:
            problems.append(f"{store} has no account at all")
    detail = f"{len(live)} live accounts (Redis), {len(record)} ledger accounts (MongoDB)"
    return CheckResult("no negative balance", not problems, "; ".join([detail, *problems[:SHOWN]]))


def journal_trades(client: redis.Redis, symbol: str) -> tuple[Counter, int]:
    """Trade ids in the symbol's journal (with their counts) and the journal's first sequence."""
    trades: Counter = Counter()
    first_sequence, start = 0, b"-"
    while True:
        entries = client.xrange(keys.events(symbol), min=start, count=5000)
        for _id, event in journal.read_entries(entries):
            first_sequence = first_sequence or event.sequence
            if isinstance(event, journal.TradeEvent):
                trades[event.trade_id] += 1
        if len(entries) < 5000:
            return trades, first_sequence
        start = b"(" + entries[-1][0]


def trades_exactly_once(client: redis.Redis, db: Database, symbols: tuple[str, ...]) -> CheckResult:
    """Compared over what the journal still holds (retention trims it after an hour)."""
    problems, total = [], 0
    for symbol in symbols:
        journal, first_sequence = journal_trades(client, symbol)
        total += len(journal)
        problems += [f"{symbol} trade {tid} is {n} times in the journal" for tid, n in journal.items() if n > 1]
        stored = Counter(doc["_id"] for doc in db[mongo.TRADES].find(
            {"symbol": symbol, "sequence": {"$gte": first_sequence}}, {"_id": 1}))
        problems += [f"{symbol} trade {tid} is not in MongoDB" for tid in journal if tid not in stored]
        problems += [f"{symbol} trade {tid} is in MongoDB, not in the journal" for tid in stored if tid not in journal]
        problems += [f"{symbol} trade {tid} is {n} times in MongoDB" for tid, n in stored.items() if n > 1]
    if total == 0:
        problems.append("the journal has no trade: the load did not trade")
    detail = f"{total} trades in the journal, {len(problems)} problem(s)"
    return CheckResult("trades exactly once", not problems, "; ".join([detail, *problems[:SHOWN]]))


def listed_order_ids(client: ExchangeClient) -> set[str]:
    """Every order the owner's GET /orders?status=all lists, page after page."""
    return {order["order_id"] for order in retrying(client.all_orders)}


def orders_listed(base_url: str, recorded: list[dict]) -> CheckResult:
    """Every order answered 2xx, in its owner's GET /orders?status=all (every page of it)."""
    by_owner: dict[str, list[dict]] = defaultdict(list)
    for order in recorded:
        by_owner[order["token"]].append(order)
    missing = []
    for token, orders in by_owner.items():
        listed = listed_order_ids(ExchangeClient(base_url, token=token))
        missing += [f"{order['username']}'s order {order['order_id']} ({order['status']} when answered) "
                    "is not in their order list" for order in orders if order["order_id"] not in listed]
    problems = missing + ([] if recorded else ["no order was answered 2xx: the load placed nothing"])
    detail = (f"{len(recorded)} orders answered 2xx to {len(by_owner)} owners: "
              f"{len(recorded) - len(missing)} in their list, {len(missing)} missing")
    return CheckResult("orders answered 2xx are listed", not problems, "; ".join([detail, *problems[:SHOWN]]))
