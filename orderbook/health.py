"""GET /api/v1/healthz: shallow (this replica, its stores) and deep (every kind of worker).

Deep: for each kind of worker, its newest heartbeat and, where it follows the journal,
how many events it is behind, per symbol. A kind whose newest heartbeat is older than
HEALTH_STALE_S (or that never beat) makes the answer 503 ``degraded``; lag alone does not,
since a burst of orders makes some.
"""
from __future__ import annotations

import os
import time

import redis

from exchange import keys, mongo
from exchange.faults import journal_faults
from exchange.health import KINDS, newest_beats
from ledger.record import LedgerOfRecord

# Which cursor each journal-following worker keeps (a journal entry id in Redis).
JOURNAL_CURSORS = {"ledger.worker": ("live_accounts", keys.settled_cursor),
                   "ticker.worker": ("candles", keys.ticker_cursor)}


def shallow(client: redis.Redis, mongo_url: str, symbols: tuple[str, ...]) -> tuple[int, dict]:
    """This replica answers, Redis and MongoDB answer; 503 ``degraded`` on a journal fault."""
    mongo.ping(mongo_url)  # away: ConnectionFailure, answered 503 unavailable like any request's
    faults = journal_faults(client, symbols)
    body = {"status": "degraded" if faults else "ok", "service": "orderbook", "pid": os.getpid()}
    if faults:
        return 503, {**body, "journal_faults": faults}
    return 200, body


def deep(client: redis.Redis, ledger: LedgerOfRecord, mongo_url: str, symbols: tuple[str, ...],
         stale_s: int) -> tuple[int, dict]:
    status, body = shallow(client, mongo_url, symbols)
    now_ms = int(time.time() * 1000)
    journal = _journal_sequences(client, symbols)
    workers = {}
    for kind, beat in newest_beats(client, KINDS).items():
        age_s = None if beat is None else round((now_ms - beat["time_ms"]) / 1000, 3)
        shown = {"status": "missing" if age_s is None else "stale" if age_s > stale_s else "ok",
                 "last_heartbeat_ms": beat and beat["time_ms"], "age_s": age_s,
                 "instances": beat["instances"] if beat else 0, "loops_s": beat["loops"] if beat else {}}
        workers[kind] = shown | _lag(client, ledger, kind, symbols, journal)
    unwell = sorted(kind for kind, shown in workers.items() if shown["status"] != "ok")
    if unwell:
        status, body = 503, {**body, "status": "degraded", "unwell": unwell}
    return status, {**body, "stale_after_s": stale_s, "journal": journal, "workers": workers}


def _journal_sequences(client: redis.Redis, symbols: tuple[str, ...]) -> dict[str, int]:
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.get(keys.seq(symbol))
    return {symbol: int(seq or 0) for symbol, seq in zip(symbols, pipe.execute())}


def _lag(client: redis.Redis, ledger: LedgerOfRecord, kind: str, symbols: tuple[str, ...],
         journal: dict[str, int]) -> dict:
    """{"lag": {what: {symbol: events behind the journal}}} for a journal-following kind, else {}."""
    if kind not in JOURNAL_CURSORS:
        return {}
    what, cursor_key = JOURNAL_CURSORS[kind]
    lag = {what: {symbol: journal[symbol] - _cursor_sequence(client, symbol, cursor_key(symbol))
                  for symbol in symbols}}
    if kind == "ledger.worker":
        lag["ledger_of_record"] = {symbol: journal[symbol] - ledger.applied_sequence(symbol) for symbol in symbols}
    return {"lag": lag}


def _cursor_sequence(client: redis.Redis, symbol: str, cursor_key: str) -> int:
    """The journal sequence of the entry a cursor (a journal entry id) names; 0 before any."""
    entry_id = client.get(cursor_key)
    entries = client.xrange(keys.events(symbol), min=entry_id, max=entry_id) if entry_id else []
    return int(entries[0][1][b"sequence"]) if entries else 0
