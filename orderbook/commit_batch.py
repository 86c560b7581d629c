"""The writes of one matched batch, as commit_batch.lua's ops, and that script's key layout.

``Key`` names the script's fixed KEYS[1..16] in the order of its header; keys a
batch adds (open-order sets, fill lists, reply lists) follow them and ops name
them by index. ``BatchWriter`` has one method per kind of write, so nothing
outside this module knows an opcode or an index.
"""
from __future__ import annotations

from enum import IntEnum
from functools import cache

from exchange import journal, keys
from orderbook.model import Side


class Key(IntEnum):
    """KEYS[i] of commit_batch.lua."""

    FENCE = 1
    SEQ = 2
    CURSOR = 3
    INBOX = 4
    EVENTS = 5
    BIDS = 6
    ASKS = 7
    ORDERS = 8
    TRADES = 9
    VOIDED = 10
    BID_LEVELS = 11
    ASK_LEVELS = 12
    BID_DEPTH = 13
    ASK_DEPTH = 14
    DONE = 15
    STOPS = 16


@cache  # built once per symbol: a batch commits many times a second
def fixed_keys(symbol: str) -> tuple[str, ...]:
    """The symbol's keys in ``Key`` order."""
    by_role = {
        Key.FENCE: keys.fence(symbol), Key.SEQ: keys.seq(symbol), Key.CURSOR: keys.cursor(symbol),
        Key.INBOX: keys.inbox(symbol), Key.EVENTS: keys.events(symbol), Key.BIDS: keys.bids(symbol),
        Key.ASKS: keys.asks(symbol), Key.ORDERS: keys.orders(symbol), Key.TRADES: keys.trades(symbol),
        Key.VOIDED: keys.voided(symbol),
        Key.BID_LEVELS: keys.levels(symbol, Side.BUY.value), Key.ASK_LEVELS: keys.levels(symbol, Side.SELL.value),
        Key.BID_DEPTH: keys.depth(symbol, Side.BUY.value), Key.ASK_DEPTH: keys.depth(symbol, Side.SELL.value),
        Key.DONE: keys.done_orders(symbol), Key.STOPS: keys.stops(symbol),
    }
    return tuple(by_role[key] for key in Key)


def book_score(side: Side, price: int) -> int:
    """Sorted-set score: ascending order is best first on both sides (bids by -price)."""
    return -price if side is Side.BUY else price


def book_member(priority: int, order_id: str) -> str:
    """Sorted-set member: zero-padded priority first, so equal prices keep arrival order."""
    return f"{priority:015d}:{order_id}"


def _side_key(side: Side) -> int:
    return int(Key.BIDS if side is Side.BUY else Key.ASKS)  # a plain int: redis-py writes an enum's repr


class BatchWriter:
    def __init__(self, symbol: str):
        self.symbol = symbol
        self.fixed = fixed_keys(symbol)
        self.ops: list = []
        self.extra_keys: list[str] = []
        self._index: dict[str, int] = {}

    def _key(self, name: str) -> int:
        index = self._index.get(name)
        if index is None:
            self.extra_keys.append(name)
            index = self._index[name] = len(Key) + len(self.extra_keys)
        return index

    # ---- the book ---------------------------------------------------------------------

    def rest(self, side: Side, price: int, priority: int, order_id: str) -> None:
        self.ops += ["Z+", _side_key(side), book_score(side, price), book_member(priority, order_id)]

    def unrest(self, side: Side, priority: int, order_id: str) -> None:
        self.ops += ["Z-", _side_key(side), book_member(priority, order_id)]

    def park(self, priority: int, order_id: str) -> None:
        """A stop order waits for its trigger."""
        self.ops += ["Z+", int(Key.STOPS), priority, book_member(priority, order_id)]

    def unpark(self, priority: int, order_id: str) -> None:
        self.ops += ["Z-", int(Key.STOPS), book_member(priority, order_id)]

    def level(self, side: Side, price: int, total: int) -> None:
        """The total resting at one price after the batch (0: the level is gone)."""
        levels, depth = (Key.BID_LEVELS, Key.BID_DEPTH) if side is Side.BUY else (Key.ASK_LEVELS, Key.ASK_DEPTH)
        self.ops += ["D", int(levels), int(depth), book_score(side, price), price, total]

    def clear_levels(self) -> None:
        """Drop every level total; the batch then writes every level there is."""
        self.ops.append("D0")

    def void(self, order_id: str, now_ms: int, forget_before_ms: int) -> None:
        self.ops += ["V", order_id, now_ms, forget_before_ms]

    # ---- orders -------------------------------------------------------------------------

    def save_order(self, order_id: str, state_json: bytes) -> None:
        self.ops += ["H", order_id, state_json]

    def save_done_order(self, order_id: str, state_json: bytes, sequence: int) -> None:
        """A done order's final state, indexed by the sequence it ended at, for the archive to forget."""
        self.ops += ["HD", order_id, state_json, sequence]

    def open_order(self, user_id: str, order_id: str) -> None:
        self.ops += ["S+", self._key(keys.open_orders(self.symbol, user_id)), order_id]

    def close_order(self, user_id: str, order_id: str) -> None:
        self.ops += ["S-", self._key(keys.open_orders(self.symbol, user_id)), order_id]

    def append_fill(self, order_id: str, fill_json: bytes) -> None:
        self.ops += ["L", self._key(keys.fills(self.symbol, order_id)), fill_json]

    def reply(self, reply_to: str, reply_json: bytes) -> None:
        self.ops += ["R", self._key(keys.reply(self.symbol, reply_to)), reply_json]

    # ---- the journal ----------------------------------------------------------------------

    def journal(self, event: journal.JournalEvent) -> None:
        """Append the event to the journal, as its contract encodes it (exchange.journal)."""
        self.ops += ["E", event.sequence, journal.encode(event)]

    def recent_trade(self, trade_json: bytes) -> None:
        self.ops += ["T", trade_json]

    def trading_status(self, status_json: bytes) -> None:
        self.ops += ["ST", self._key(keys.trading_status(self.symbol)), status_json]

    # ---- the call -------------------------------------------------------------------------

    def script_keys(self) -> list[str]:
        return [*self.fixed, *self.extra_keys]

    def script_args(self, fence: int, seq: int, next_seq: int, cursor: bytes, read_count: int) -> list:
        """ARGV: the fence and sequence checks, the new cursor, how much to read next, then the ops."""
        return [fence, seq, next_seq, cursor, read_count, *self.ops]
