"""`python -m ledger check`: prove the books.

  - conservation, in both stores: Σ over all accounts (the house included) of
    cash and of each symbol's shares equals what was issued at registration;
  - holds: every live account's on-hold amounts equal the sum of its holds, and
    every hold of an open order equals what that order still needs;
  - the ledger of record (MongoDB) equals the live accounts (Redis), once both
    have applied the whole journal (holds still waiting for the book aside);
  - the ledger of record still follows each journal (``journal_problems``).
Repairing what crashes leave is ``ledger.reconcile``; what a Redis that lost data
leaves, ``ledger.recovery``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

import orjson
import redis
from pymongo.database import Database

from exchange import keys, mongo
from exchange.faults import journal_faults
from exchange.journal import OrderRecord
from exchange.money import CASH
from exchange.order_ids import order_id_symbol
from orderbook.commands import hold_for


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def live_accounts(client: redis.Redis) -> dict[str, dict[str, int]]:
    """{user_id: {field: int}} of every live account hash."""
    accounts = {}
    for key in client.scan_iter(match=keys.ACCOUNT_PATTERN, count=1000):
        user_id = keys.account_owner(key)
        accounts[user_id] = {f.decode(): int(v) for f, v in client.hgetall(key).items()}
    return accounts


def issued(db: Database, symbols: tuple[str, ...]) -> dict[str, int]:
    totals = {CASH: 0, **{s: 0 for s in symbols}}
    for doc in db[mongo.ACCOUNTS].find({"issued": {"$exists": True}}, {"issued": 1}):
        totals[CASH] += doc["issued"]["cash"]
        for symbol, shares in doc["issued"]["shares"].items():
            totals[symbol] = totals.get(symbol, 0) + shares
    return totals


def record_accounts(db: Database) -> dict[str, dict[str, int]]:
    """MongoDB accounts flattened to the live hash's field names."""
    out = {}
    for doc in db[mongo.ACCOUNTS].find({}, {"cash": 1, "positions": 1}):
        flat = {f"{CASH}:{k}": v for k, v in doc.get("cash", {}).items()}
        for symbol, amounts in doc.get("positions", {}).items():
            flat.update({f"{symbol}:{k}": v for k, v in amounts.items()})
        out[doc["_id"]] = flat
    return out


def _sums(accounts: dict[str, dict[str, int]], assets) -> dict[str, int]:
    return {a: sum(acct.get(f"{a}:available", 0) + acct.get(f"{a}:on_hold", 0) for acct in accounts.values())
            for a in assets}


def journal_problems(client: redis.Redis, db: Database, symbols: tuple[str, ...]) -> list[str]:
    """Whether the ledger of record still follows each journal: no recorded fault, the same
    epoch, and the journal not behind what the ledger applied (Redis lost data otherwise)."""
    problems = [f"{symbol}: the ledger of record stopped: {fault}; run `python -m ledger recover`"
                for symbol, fault in journal_faults(client, symbols).items()]
    cursors = {doc["_id"]: doc for doc in db[mongo.CURSORS].find({"_id": {"$in": list(symbols)}})}
    for symbol in symbols:
        applied = cursors.get(symbol, {})
        seq, epoch = client.get(keys.seq(symbol)), client.get(keys.epoch(symbol))
        if epoch is not None and applied.get("epoch") not in (None, int(epoch)):
            problems.append(f"{symbol}: the journal is in epoch {int(epoch)}, the ledger of record in "
                            f"{applied['epoch']}: Redis lost its data")
        elif int(seq or 0) < applied.get("sequence", 0):
            problems.append(f"{symbol}: the journal is at sequence {int(seq or 0)}, behind the ledger of "
                            f"record's {applied['sequence']}: Redis lost its latest writes")
    return problems


def check(client: redis.Redis, db: Database, symbols: tuple[str, ...]) -> Report:
    report = Report(problems=journal_problems(client, db, symbols))
    expected = issued(db, symbols)
    live, record = live_accounts(client), record_accounts(db)
    for store, accounts in (("live (Redis)", live), ("ledger (MongoDB)", record)):
        for asset, total in _sums(accounts, expected).items():
            if total != expected[asset]:
                report.problems.append(f"{store}: Σ {asset} is {total}, issued {expected[asset]}")
    report.facts.append(f"{len(live)} live accounts, {len(record)} ledger accounts; issued {expected}")

    states = order_states(client, {oid for acct in live.values() for oid, _ in holds_of(acct)})
    waiting: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # holds not yet in the journal
    for user_id, acct in live.items():
        held: dict[str, int] = defaultdict(int)
        for (order_id, asset), amount in holds_of(acct).items():
            held[asset] += amount
            state = states.get(order_id)
            if state is None:
                waiting[user_id][asset] += amount
                report.facts.append(f"hold of {order_id} ({amount} {asset}) is waiting for its order")
            elif state["status"] in ("filled", "canceled", "rejected"):
                report.problems.append(f"{user_id}: order {order_id} is {state['status']} but still holds {amount}")
            elif amount != (needed := hold_for(cast(OrderRecord, state), state["remaining_quantity"])):
                report.problems.append(f"{user_id}: order {order_id} holds {amount}, needs {needed}")
        for asset in (CASH, *symbols):
            if acct.get(f"{asset}:on_hold", 0) != held[asset]:
                report.problems.append(f"{user_id}: {asset} on hold is {acct.get(f'{asset}:on_hold', 0)}, "
                                       f"its holds add up to {held[asset]}")
            if acct.get(f"{asset}:available", 0) < 0:
                report.problems.append(f"{user_id}: {asset} available is negative")
        _check_buys(report, user_id, acct, states, symbols)

    for user_id in set(live) | set(record):
        for asset in (CASH, *symbols):
            pending = waiting.get(user_id, {}).get(asset, 0)
            for kind, adjust in (("available", pending), ("on_hold", -pending)):
                name = f"{asset}:{kind}"
                live_value = live.get(user_id, {}).get(name, 0) + adjust
                record_value = record.get(user_id, {}).get(name, 0)
                if live_value != record_value:
                    report.problems.append(f"{user_id}: {name} is {live_value} live, {record_value} in the ledger")
    return report


def _check_buys(report: Report, user_id: str, acct: dict[str, int], states: dict[str, dict],
                symbols: tuple[str, ...]) -> None:
    """What open buys may still buy: each symbol's ``<SYM>:buying`` is the sum of its buys records,
    and each record is its order's remaining quantity (the position limit counts on both)."""
    buying: dict[str, int] = defaultdict(int)
    for name, value in acct.items():
        if not name.startswith("buys:"):
            continue
        order_id = name[5:]
        buying[order_id_symbol(order_id) or ""] += value
        state = states.get(order_id)
        if state is not None and state["status"] not in ("filled", "canceled", "rejected") \
                and value != state["remaining_quantity"]:
            report.problems.append(f"{user_id}: buy {order_id} counts {value} to buy, its order has "
                                   f"{state['remaining_quantity']} left")
    for symbol in symbols:
        if acct.get(f"{symbol}:buying", 0) != buying[symbol]:
            report.problems.append(f"{user_id}: {symbol} buying is {acct.get(f'{symbol}:buying', 0)}, "
                                   f"its buys add up to {buying[symbol]}")


def holds_of(acct: dict[str, int]) -> dict[tuple[str, str], int]:
    holds = {}
    for name, value in acct.items():
        if name.startswith("hold:"):
            order_id, _, asset = name[5:].rpartition(":")
            holds[(order_id, asset)] = value
    return holds


def order_states(client: redis.Redis, order_ids: set[str]) -> dict[str, dict]:
    by_symbol: dict[str, list[str]] = defaultdict(list)
    for order_id in order_ids:
        symbol = order_id_symbol(order_id)
        if symbol is not None:  # an id no order has: no state, whatever it holds
            by_symbol[symbol].append(order_id)
    states = {}
    for symbol, ids in by_symbol.items():
        for order_id, raw in zip(ids, client.hmget(keys.orders(symbol), ids)):
            if raw:
                states[order_id] = orjson.loads(raw)
    return states
