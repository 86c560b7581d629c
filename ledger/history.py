"""Reading the history MongoDB keeps: done orders that left Redis, fills and trades.

Each read gives one store's ``SourcePage`` (exchange/paging.py): the items
below a cursor key, newest first, and where it stopped if it has more. The API
merges it with what Redis still holds (orderbook/history.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from pymongo import DESCENDING
from pymongo.database import Database

from exchange import mongo
from exchange.paging import SourcePage


@dataclass(frozen=True)
class Window:
    """What a history read asks for: [start_ms, end_ms) by time, below ``below`` by key, at most ``limit``."""
    limit: int
    below: tuple | None = None
    start_ms: int | None = None
    end_ms: int | None = None


def _page(collection, query: dict, time_field: str, key_fields: tuple[str, str], window: Window) -> SourcePage:
    """Documents matching ``query`` in the window, in descending ``key_fields`` order."""
    bounds = {}
    if window.start_ms is not None:
        bounds["$gte"] = window.start_ms
    if window.end_ms is not None:
        bounds["$lt"] = window.end_ms
    conditions = [query] + ([{time_field: bounds}] if bounds else [])
    if window.below is not None:
        first, second = key_fields
        high, tie = window.below
        conditions.append({"$or": [{first: {"$lt": high}}, {first: high, second: {"$lt": tie}}]})
    # SecantusDB plans any $and as a scan of the whole collection; the query alone (a first page
    # with no time window) reads its index.
    filter_ = conditions[0] if len(conditions) == 1 else {"$and": conditions}
    found = list(collection.find(filter_)
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
        """Key (time, fill id)."""
        query = {"user_id": user_id, **({"symbol": symbol} if symbol else {})}
        return _page(self.db[mongo.FILLS], query, "time", ("time", "_id"), window)

    def applied(self, symbol: str) -> tuple[int, int]:
        """(epoch, sequence) of the last journal event the ledger of record applied ((0, 0): none)."""
        cursor = self.db[mongo.CURSORS].find_one({"_id": symbol}) or {}
        return cursor.get("epoch") or 0, cursor.get("sequence", 0)

    def trades(self, symbol: str, window: Window) -> SourcePage:
        """Key (epoch, sequence)."""
        return _page(self.db[mongo.TRADES], {"symbol": symbol}, "time", ("epoch", "sequence"), window)
