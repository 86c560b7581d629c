"""Reading the history MongoDB keeps: done orders that left Redis, fills and trades.

Fills are read out of the trades (``exchange.trade_fills``): one document holds a
trade's two sides.

Each read gives one store's ``SourcePage`` (exchange/paging.py): the items
below a cursor key, newest first, and where it stopped if it has more. The API
merges it with what Redis still holds (orderbook/history.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from pymongo import DESCENDING
from pymongo.database import Database

from exchange import mongo, trade_fills
from exchange.paging import SourcePage


@dataclass(frozen=True)
class Window:
    """What a history read asks for: [start_ms, end_ms) by time, below ``below`` by key, at most ``limit``."""
    limit: int
    below: tuple | None = None
    start_ms: int | None = None
    end_ms: int | None = None


def _filter(query: dict, time_field: str, window: Window, below: dict | None) -> dict:
    """``query`` in the window's time range and ``below`` (a condition on the key)."""
    bounds = {}
    if window.start_ms is not None:
        bounds["$gte"] = window.start_ms
    if window.end_ms is not None:
        bounds["$lt"] = window.end_ms
    conditions = [query] + ([{time_field: bounds}] if bounds else []) + ([below] if below else [])
    # SecantusDB plans any $and as a scan of the whole collection; the query alone (a first page
    # with no time window) reads its index.
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def _below(key_fields: tuple[str, str], key: tuple, inclusive: bool = False) -> dict:
    first, second = key_fields
    high, tie = key
    return {"$or": [{first: {"$lt": high}}, {first: high, second: {"$lte" if inclusive else "$lt": tie}}]}


def _page(collection, query: dict, time_field: str, key_fields: tuple[str, str], window: Window) -> SourcePage:
    """Documents matching ``query`` in the window, in descending ``key_fields`` order."""
    below = None if window.below is None else _below(key_fields, window.below)
    found = list(collection.find(_filter(query, time_field, window, below))
                 .sort([(key_fields[0], DESCENDING), (key_fields[1], DESCENDING)]).limit(window.limit))
    floor = tuple(found[-1][name] for name in key_fields) if len(found) == window.limit else None
    return SourcePage(found, floor)


class History:
    def __init__(self, db: Database):
        self.db = db

    def order(self, user_id: str, order_id: str) -> dict | None:
        """A done order that left Redis (its state with its fills), if it is the user's."""
        return self.db[mongo.ORDERS].find_one({"_id": order_id, "user_id": user_id})

    def orders(self, user_id: str, symbol: str | None, window: Window) -> SourcePage:
        """Key (created_ms, order_id)."""
        query = {"user_id": user_id, **({"symbol": symbol} if symbol else {})}
        return _page(self.db[mongo.ORDERS], query, "created_ms", ("created_ms", "_id"), window)

    def fills(self, user_id: str, symbol: str | None, window: Window) -> SourcePage:
        """Key (time, trade id, side), read out of the user's trades. A trade at the cursor may
        still hold a fill below it (the buy of a self-trade whose sell ended the last page), and
        every other trade holds at least one: so ``limit`` + 1 trades give a full page."""
        query = {"user_ids": user_id, **({"symbol": symbol} if symbol else {})}
        below = None if window.below is None else _below(("time", "_id"), window.below[:2], inclusive=True)
        trades = list(self.db[mongo.TRADES].find(_filter(query, "time", window, below))
                      .sort([("time", DESCENDING), ("_id", DESCENDING)]).limit(window.limit + 1))
        fills = sorted((fill for trade in trades for fill in trade_fills.fills_of(trade, user_id)
                        if window.below is None or trade_fills.fill_key(fill) < window.below),
                       key=trade_fills.fill_key, reverse=True)
        page = fills[:window.limit]
        more = len(fills) > window.limit or len(trades) > window.limit
        return SourcePage(page, trade_fills.fill_key(page[-1]) if more and page else None)

    def applied(self, symbol: str) -> tuple[int, int]:
        """(epoch, sequence) of the last journal event the ledger of record applied ((0, 0): none)."""
        cursor = self.db[mongo.CURSORS].find_one({"_id": symbol}) or {}
        return cursor.get("epoch") or 0, cursor.get("sequence", 0)

    def trades(self, symbol: str, window: Window) -> SourcePage:
        """Key (epoch, sequence)."""
        return _page(self.db[mongo.TRADES], {"symbol": symbol}, "time", ("epoch", "sequence"), window)
