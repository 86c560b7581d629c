"""Reconciliation: void the holds whose order never reached a book.

A submitter that dies (or stalls) between placing an order's hold and appending
the order to its symbol's inbox leaves a hold no order will ever release. Such a
hold is never released behind the book's back: a ``void`` command for the order
id goes through the same inbox. The matcher voids the id unless the order
already reached the book, journals ``voided``, and refuses the id for good if it
arrives later; the ledger releases the hold when it settles ``voided``. So a
release and a late order can never both win, whatever the timing.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict

import orjson
import redis

from exchange import keys
from exchange.config import Settings
from exchange.order_ids import order_id_symbol, order_time_ms
from ledger.audit import holds_of, live_accounts, order_states
from orderbook.commands import encode_void
from orderbook.matcher import SymbolMatcher

ORPHAN_GRACE_MS = 60_000
REPLY_WAIT_S = 5.0


def void_orphan_holds(client: redis.Redis, settings: Settings, grace_ms: int = ORPHAN_GRACE_MS,
                      now_ms: int | None = None, wait_s: float = REPLY_WAIT_S) -> list[str]:
    """Send a void for every hold older than ``grace_ms`` whose order is neither on a book nor
    waiting in an inbox, then wait up to ``wait_s`` for the book's answers; returns what happened."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    orphans = _orphans(client, settings.symbols, grace_ms, now_ms)
    sent: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # symbol -> voids sent
    for symbol, holds in orphans.items():
        pipe = client.pipeline(transaction=False)
        for user_id, order_id, asset, amount in holds:
            reply_to = uuid.uuid4().hex
            pipe.xadd(keys.inbox(symbol), {"c": encode_void(order_id, user_id, asset), "r": reply_to})
            sent[symbol].append((reply_to, order_id, f"{amount} {asset} held for {order_id} of {user_id}"))
        pipe.execute()
    return [line for symbol, voids in sent.items()
            for line in _answers(SymbolMatcher.for_settings(client, symbol, settings), voids, wait_s)]


def _orphans(client: redis.Redis, symbols: tuple[str, ...], grace_ms: int,
             now_ms: int) -> dict[str, list[tuple[str, str, str, int]]]:
    """{symbol: [(user id, order id, asset, amount)]} of the holds that look orphaned."""
    live = live_accounts(client)
    states = order_states(client, {oid for acct in live.values() for oid, _ in holds_of(acct)})
    queued = _queued_order_ids(client, symbols)
    orphans = defaultdict(list)
    for user_id, acct in live.items():
        for (order_id, asset), amount in holds_of(acct).items():
            placed_ms, symbol = order_time_ms(order_id), order_id_symbol(order_id)
            if (order_id in states or order_id in queued or placed_ms is None or symbol not in symbols
                    or now_ms - placed_ms < grace_ms):
                continue
            orphans[symbol].append((user_id, order_id, asset, amount))
    return orphans


def _answers(matcher: SymbolMatcher, voids: list, wait_s: float) -> list[str]:
    """Match the symbol's inbox if no matcher is at it, then read each void's answer."""
    client, symbol = matcher.client, matcher.symbol
    matcher.drain()
    deadline = time.monotonic() + wait_s
    lines = []
    for reply_to, order_id, what in voids:
        timeout = max(0.01, deadline - time.monotonic())
        popped = client.blpop([keys.reply(symbol, reply_to)], timeout=timeout)
        if popped is None:
            lines.append(f"void of {order_id} is queued; the book has not answered yet")
        elif orjson.loads(popped[1]).get("voided"):
            lines.append(f"voided {what}: the order never reached the book; the ledger releases the hold")
        else:
            lines.append(f"kept {what}: the order reached the book after all")
    return lines


def _queued_order_ids(client: redis.Redis, symbols: tuple[str, ...]) -> set[str]:
    """Order ids of commands still in an inbox after its cursor (they will reach the book)."""
    queued = set()
    for symbol in symbols:
        cursor = client.get(keys.cursor(symbol)) or b"0-0"
        for _id, fields in client.xrange(keys.inbox(symbol), min=b"(" + cursor):
            order_id = orjson.loads(fields[b"c"]).get("order_id")
            if order_id is not None:  # an operator's halt or resume names no order
                queued.add(order_id)
    return queued
