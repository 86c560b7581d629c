"""The book's state hash: one stable digest of every resting order.

A live book (``GET /api/v1/book/{symbol}/hash``) and a book rebuilt from the
archived journal (``python -m orderbook replay``) at the same sequence have the
same hash, so either can be checked against the other.

The hash is the SHA-256, in hex, of one line per resting order, UTF-8:

    "<side> <price in ticks> <priority> <order id> <remaining quantity>\\n"

bids first, best (highest) price first, then asks, best (lowest) price first;
within a price, by priority (the journal sequence of the order's ``accepted``
event, or of a stop-limit's ``triggered`` one: earlier first). Parked stops are not on the
book and not in the hash. An empty book hashes the empty string.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from orderbook.book import OrderBook
from orderbook.model import Side


@dataclass(frozen=True)
class RestingLine:
    side: Side
    price: int
    priority: int
    order_id: str
    remaining: int


def book_hash(lines: Iterable[RestingLine]) -> str:
    """The hash of resting orders given in book order (bids best first, then asks best first)."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(f"{line.side.value} {line.price} {line.priority} {line.order_id} {line.remaining}\n".encode())
    return digest.hexdigest()


def book_lines(book: OrderBook) -> list[RestingLine]:
    """A pure book's resting orders in book order."""
    return [RestingLine(side, order.price, order.priority, order.order_id, order.remaining)
            for side in (Side.BUY, Side.SELL) for order in book.resting_orders(side)]
