"""The leaderboard: every account marked to market, in integer cents.

value          = cash (available + on hold) + Σ shares (available + on hold) × last price
starting value = issued cash + Σ issued shares × the same last prices
P&L            = value − starting value

The last price of a symbol is its last trade's. A symbol that never traded has
no price and its shares count 0 in both values, so they move no one's P&L.
Because every trade and fee only moves cash and shares between accounts (the
house account collects fees), Σ value over all accounts, the house included,
equals Σ starting value exactly, at any prices, once settlement has caught up.

``standings`` is pure; ``read_standings`` gathers its inputs: users and issued
amounts from MongoDB, live balances from Redis (the ledger of record's balances
for an account whose live hash is missing), last prices from the trade lists.

``Leaderboard`` serves them cached: reading every account is far too dear for
a public GET, so the standings are computed at most once per ``max_age_s``
for all API replicas together (dogpile.cache: one process recomputes under a
Redis lock while the others keep serving the previous copy), and each process
keeps the copy it last read for up to a second.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping

import orjson
import redis
from dogpile.cache import make_region
from pymongo.database import Database

from exchange import keys, mongo, redis_client
from exchange.money import CASH
from exchange.top_of_book import read_tops
from exchange.valuation import Holdings, market_value
from ledger.postings import HOUSE


@dataclass(frozen=True)
class Standing:
    user_id: str
    username: str
    house: bool
    holdings: Holdings
    value: int
    starting_value: int

    @property
    def pnl(self) -> int:
        return self.value - self.starting_value


def standings(accounts: Mapping[str, tuple[str, Holdings, Holdings]], prices: Mapping[str, int | None]
              ) -> list[Standing]:
    """{user_id: (username, live holdings, issued holdings)} -> standings by value, highest first."""
    rows = [Standing(user_id=user_id, username=username, house=user_id == HOUSE, holdings=live,
                     value=market_value(live, prices), starting_value=market_value(issued, prices))
            for user_id, (username, live, issued) in accounts.items()]
    rows.sort(key=lambda row: (-row.value, row.username, row.user_id))
    return rows


# ---- reading the stores -----------------------------------------------------------------------

def last_prices(client: redis.Redis, symbols: tuple[str, ...]) -> dict[str, int | None]:
    return {symbol: top.last for symbol, top in read_tops(client, symbols).items()}


def _live_holdings(raw: dict[bytes, bytes]) -> Holdings:
    totals: dict[str, int] = {}
    for name, amount in raw.items():
        asset, _, kind = name.decode().partition(":")
        if kind in ("available", "on_hold"):
            totals[asset] = totals.get(asset, 0) + int(amount)
    return Holdings(cash=totals.pop(CASH, 0), shares=totals)


def _record_holdings(doc: dict) -> Holdings:
    cash = doc.get("cash", {})
    return Holdings(cash=cash.get("available", 0) + cash.get("on_hold", 0),
                    shares={s: p.get("available", 0) + p.get("on_hold", 0) for s, p in doc.get("positions", {}).items()})


def read_standings(client: redis.Redis, db: Database, symbols: tuple[str, ...]
                   ) -> tuple[dict[str, int | None], list[Standing]]:
    """(last prices, standings) of every registered user and the house account."""
    usernames = {doc["_id"]: doc["username"] for doc in db[mongo.USERS].find({}, {"username": 1})}
    records = {doc["_id"]: doc for doc in db[mongo.ACCOUNTS].find({})}
    user_ids = sorted(set(usernames) | set(records) | {HOUSE})
    pipe = client.pipeline(transaction=False)
    for user_id in user_ids:
        pipe.hgetall(keys.account(user_id))
    accounts = {}
    for user_id, raw in zip(user_ids, pipe.execute()):
        record = records.get(user_id, {})
        if raw:
            live = _live_holdings(raw)
        elif record:
            live = _record_holdings(record)
        else:
            continue  # the house before its first fee
        issued = record.get("issued", {})
        accounts[user_id] = (usernames.get(user_id, user_id),
                             live, Holdings(cash=issued.get("cash", 0), shares=issued.get("shares", {})))
    prices = last_prices(client, symbols)
    return prices, standings(accounts, prices)


# ---- served cached ------------------------------------------------------------------------------

LOCAL_COPY_S = 1  # a process reuses the copy it last read for this long, without a Redis round trip
COMPUTE_TIMEOUT_S = 60  # the recompute lock frees itself if its holder dies


@dataclass(frozen=True)
class Snapshot:
    """Standings as computed at ``as_of_ms``: rows are plain dicts (cents, shares), best first."""
    as_of_ms: int
    prices: dict[str, int | None]
    rows: list[dict]
    total_value: int = 0
    total_starting_value: int = 0
    position: dict[str, int] = field(default_factory=dict)  # user id -> index in rows

    @classmethod
    def of(cls, doc: dict) -> "Snapshot":
        rows = doc["rows"]
        return cls(doc["as_of_ms"], doc["prices"], rows, sum(row["value"] for row in rows),
                   sum(row["starting_value"] for row in rows), {row["user_id"]: i for i, row in enumerate(rows)})

    def row_of(self, user_id: str) -> tuple[int, dict] | None:
        """(rank, row) of one account, or None if it is not in this snapshot."""
        index = self.position.get(user_id)
        return None if index is None else (index + 1, self.rows[index])


def snapshot_doc(prices: dict[str, int | None], rows: list[Standing]) -> dict:
    return {"as_of_ms": int(time.time() * 1000), "prices": prices,
            "rows": [{"user_id": r.user_id, "username": r.username, "house": r.house, "value": r.value,
                      "starting_value": r.starting_value, "cash": r.holdings.cash,
                      "shares": dict(sorted(r.holdings.shares.items()))} for r in rows]}


class Leaderboard:
    def __init__(self, client: redis.Redis, db: Database, symbols: tuple[str, ...], max_age_s: int):
        self.client, self.db, self.symbols = client, db, symbols
        backend, connection = redis_client.dogpile_backend(client)
        self.shared = make_region(serializer=orjson.dumps, deserializer=orjson.loads).configure(
            backend, expiration_time=max_age_s,
            arguments={**connection, "distributed_lock": True,
                       "thread_local_lock": False, "lock_timeout": COMPUTE_TIMEOUT_S,
                       "lock_prefix": keys.cache_lock_prefix(),
                       # Kept well past its age so a stale copy is served while one process recomputes.
                       "redis_expiration_time": max(60, 10 * max_age_s)})
        self.local = make_region().configure("dogpile.cache.memory", expiration_time=min(LOCAL_COPY_S, max_age_s))

    def snapshot(self) -> Snapshot:
        return self.local.get_or_create(keys.leaderboard(), self._read_shared)

    def _read_shared(self) -> Snapshot:
        return Snapshot.of(self.shared.get_or_create(keys.leaderboard(), self._compute))

    def _compute(self) -> dict:
        return snapshot_doc(*read_standings(self.client, self.db, self.symbols))
