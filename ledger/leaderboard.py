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
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import orjson
import redis
from pymongo.database import Database

from exchange import keys, mongo
from exchange.valuation import Holdings, market_value
from ledger.settlement import CASH, HOUSE


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
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.lindex(keys.trades(symbol), 0)
    return {symbol: orjson.loads(last)["price"] if last else None for symbol, last in zip(symbols, pipe.execute())}


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
