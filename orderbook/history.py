"""Orders, fills and trades as the API shows them: what Redis holds, joined with MongoDB's history.

An order lives in Redis while it is open and for ORDER_ARCHIVE_AFTER_S after it
ended; then it moves to MongoDB's ``orders`` (ledger/forget.py), copied there
before it is deleted here. So every read looks in Redis first and in MongoDB
second: an order that moves in between is found in MongoDB. Pages of a history
are merged from both stores by ``exchange.paging``, each order, fill or trade
once, newest first, behind an opaque cursor.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import cast

import orjson
import redis

from exchange import keys, trade_fills
from exchange.journal import OrderRecord
from exchange.order_ids import order_id_symbol
from exchange.paging import BadCursor, SourcePage, decode_cursor, encode_cursor, merge_pages
from ledger.history import History, Window
from orderbook import views
from orderbook.errors import ApiError, not_found
from orderbook.queries import HistoryQuery, check_range

ORDER_KEY = (int, str)  # (created_ms, order id)
FILL_KEY = (int, str)  # (time, fill id)
TRADE_KEY = (int, int)  # (epoch, sequence)
RECENT_TRADES_KEPT = 1000  # the recent-trades list's length (commit_batch.lua trims it)


def window_of(query: HistoryQuery, shape: tuple[type, ...]) -> Window:
    """The query's page: its cursor decoded (400 if this API did not make it) and its time range."""
    below = None
    if query.cursor is not None:
        try:
            below = decode_cursor(query.cursor, shape)
        except BadCursor:
            raise ApiError(400, "invalid_parameter", "cursor is not one this API gave: pass next_cursor as it "
                           "came") from None
    check_range(query.start, query.end)
    return Window(query.limit, below, query.start, query.end)


def next_cursor(key: tuple | None) -> str | None:
    return None if key is None else encode_cursor(key)


def _order_key(state: OrderRecord) -> tuple:
    return state["created_ms"], state["order_id"]


class OrderReads:
    def __init__(self, client: redis.Redis, symbols: tuple[str, ...], history: History | None):
        self.client = client
        self.symbols = symbols
        self.history = history  # None: Redis only (tools and tests without MongoDB)

    def order_symbol(self, order_id: str) -> str:
        """The symbol an order id names; 404 for a string no order id has."""
        symbol = order_id_symbol(order_id)
        if symbol not in self.symbols:
            raise not_found(f"no order {order_id!r}")
        return symbol

    def own(self, user_id: str, order_id: str) -> tuple[str, OrderRecord, list[dict]]:
        """(symbol, state, fills) of one of the user's orders, live or archived; 404 otherwise."""
        symbol = self.order_symbol(order_id)
        pipe = self.client.pipeline(transaction=True)  # one slot: the state and its fills as one moment
        pipe.hget(keys.orders(symbol), order_id)
        pipe.lrange(keys.fills(symbol, order_id), 0, -1)
        raw, raw_fills = pipe.execute()
        if raw is not None:
            state = orjson.loads(raw)
            if state["user_id"] == user_id:
                return symbol, state, [orjson.loads(f) for f in raw_fills]
        # Still in its owner's list without a state: on its way to the book. Else maybe archived.
        elif self.history is not None and self.client.zscore(keys.user_orders(user_id), order_id) is None:
            archived = self.history.order(user_id, order_id)
            if archived is not None:
                return symbol, cast(OrderRecord, archived), archived["fills"]
        raise not_found(f"no order {order_id!r}")

    def find(self, user_id: str, order_id: str) -> dict | None:
        try:
            _symbol, state, fills = self.own(user_id, order_id)
        except ApiError:
            return None
        return views.order(state, fills)

    def get(self, user_id: str, order_id: str) -> dict:
        found = self.find(user_id, order_id)
        if found is None:
            if self.client.zscore(keys.user_orders(user_id), order_id) is not None:
                return {"order_id": order_id, "status": "pending",
                        "message": "accepted; the order is still on its way to the book"}
            raise not_found(f"no order {order_id!r}")
        return found

    def page(self, user_id: str, status: str, symbol: str | None, window: Window) -> tuple[list[dict], str | None]:
        """The user's open orders, or all they ever placed, newest first: (views, next cursor)."""
        if status == "open":
            sources = [self._open(user_id, symbol, window)]
        else:  # Redis first: an order that moves meanwhile is in MongoDB by the time it is read
            sources = [self._recent(user_id, symbol, window)]
            if self.history is not None:
                sources.append(self.history.orders(user_id, symbol, window))
        states, below = merge_pages(sources, _order_key, window.limit)
        return [views.order(state) for state in states], next_cursor(below)

    def _open(self, user_id: str, symbol: str | None, window: Window) -> SourcePage:
        symbols = [symbol] if symbol else list(self.symbols)
        pipe = self.client.pipeline(transaction=False)
        for sym in symbols:
            pipe.smembers(keys.open_orders(sym, user_id))
        by_symbol = {sym: [m.decode() for m in members] for sym, members in zip(symbols, pipe.execute())}
        states = [s for s in self._states(by_symbol) if _in_window(s["created_ms"], _order_key(s), window)]
        return SourcePage(sorted(states, key=_order_key, reverse=True))

    def _recent(self, user_id: str, symbol: str | None, window: Window) -> SourcePage:
        """What the user's list in Redis still names (open and recently done orders)."""
        scan = window.limit * (len(self.symbols) if symbol else 1)  # a symbol's orders are a part of the list
        entries, truncated = self._listed(keys.user_orders(user_id), window, scan)
        floor = (int(entries[-1][1]), entries[-1][0]) if truncated else None
        by_symbol: dict[str, list[str]] = {}
        for order_id, _created in entries:
            sym = order_id_symbol(order_id)
            if sym in self.symbols and (symbol is None or sym == symbol):
                by_symbol.setdefault(sym, []).append(order_id)
        return SourcePage(sorted(self._states(by_symbol), key=_order_key, reverse=True), floor)

    def _listed(self, list_key: str, window: Window, scan: int) -> tuple[list[tuple[str, float]], bool]:
        """(order id, created_ms) of the list's entries below the cursor and in the time range, newest
        first, at most ``scan`` of them past the cursor's own millisecond; and whether more are left."""
        top: int | float | str = window.end_ms - 1 if window.end_ms is not None else math.inf
        bottom = window.start_ms if window.start_ms is not None else "-inf"
        ties: list = []
        below = window.below
        if below is not None and below[0] <= top:
            if window.start_ms is None or below[0] >= window.start_ms:
                # the cursor's own millisecond: the ids below the cursor's (ids break ties)
                ties = sorted(((m.decode(), s) for m, s in self.client.zrangebyscore(
                    list_key, below[0], below[0], withscores=True) if m.decode() < below[1]), reverse=True)
            top = f"({below[0]}"
        top = "+inf" if top == math.inf else top
        scanned = self.client.zrevrangebyscore(list_key, top, bottom, start=0, num=scan, withscores=True)
        return ties + [(m.decode(), s) for m, s in scanned], len(scanned) == scan

    def _states(self, by_symbol: dict[str, list[str]]) -> list[OrderRecord]:
        by_symbol = {sym: order_ids for sym, order_ids in by_symbol.items() if order_ids}
        pipe = self.client.pipeline(transaction=False)
        for sym, order_ids in by_symbol.items():
            pipe.hmget(keys.orders(sym), order_ids)
        found = pipe.execute() if by_symbol else []
        return [orjson.loads(raw) for raws in found for raw in raws if raw]  # none yet: still on its way


def _in_window(time_ms: int, key: tuple, window: Window) -> bool:
    return ((window.start_ms is None or time_ms >= window.start_ms)
            and (window.end_ms is None or time_ms < window.end_ms)
            and (window.below is None or key < window.below))


def _trade_key(trade: dict) -> tuple:
    return trade["epoch"], trade["sequence"]


def trades_page(client: redis.Redis, history: History | None, symbol: str,
                window: Window) -> tuple[list[dict], str | None]:
    """A symbol's trades, newest first: the recent ones from Redis, the rest from MongoDB. While the
    ledger of record lags further behind than the recent-trades list reaches, the trades between
    the two are in neither store: a page that would reach past the list is refused (503) until the
    ledger catches up, rather than skip them."""
    recent, oldest_kept = _recent_trades(client, symbol, window)
    sources = [recent]
    if history is not None:
        sources.append(history.trades(symbol, window))
    trades, below = merge_pages(sources, _trade_key, window.limit)
    reaches_past = oldest_kept is not None and (
        (below is not None and below <= oldest_kept) or any(_trade_key(t) < oldest_kept for t in trades))
    if history is not None and reaches_past and oldest_kept is not None:
        epoch, sequence = oldest_kept
        if history.applied(symbol) < (epoch, sequence - 1):
            raise ApiError(503, "history_catching_up", "the ledger of record is still settling the trades this "
                           "page reaches; ask again in a second", {"Retry-After": "1"})
    return [views.trade(trade) for trade in trades], next_cursor(below)


def _recent_trades(client: redis.Redis, symbol: str, window: Window) -> tuple[SourcePage, tuple | None]:
    """The recent-trades list: only its head for a first page, else all of it; and the key of its
    oldest trade if the list is full (older ones have left it)."""
    first_page = window.below is None and window.start_ms is None and window.end_ms is None
    pipe = client.pipeline(transaction=True)
    pipe.lrange(keys.trades(symbol), 0, window.limit - 1 if first_page else -1)
    pipe.llen(keys.trades(symbol))
    pipe.lindex(keys.trades(symbol), -1)
    raw, kept, oldest = pipe.execute()
    trades = [_with_epoch(orjson.loads(item)) for item in raw]
    trades = [t for t in trades if _in_window(t["time"], _trade_key(t), window)]
    floor = _trade_key(trades[-1]) if first_page and len(trades) == window.limit else None
    full = kept >= RECENT_TRADES_KEPT and oldest is not None
    return SourcePage(trades, floor), _trade_key(_with_epoch(orjson.loads(oldest))) if full else None


def _with_epoch(trade: dict) -> dict:
    return {**trade, "epoch": int(trade["trade_id"].rsplit("-", 2)[1])}


def fills_page(history: History, user_id: str, symbol: str | None, window: Window) -> tuple[list[dict], str | None]:
    """The user's fills from the ledger of record, newest first. The cursor shows a fill's key as
    (time, fill id) (``FILL_KEY``)."""
    if window.below is not None:
        window = replace(window, below=trade_fills.key_of_cursor(window.below))
    fills, below = merge_pages([history.fills(user_id, symbol, window)], trade_fills.fill_key, window.limit)
    return [views.history_fill(fill) for fill in fills], next_cursor(None if below is None
                                                                      else trade_fills.cursor_key(below))
