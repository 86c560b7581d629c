"""A symbol's L2 book kept from its journal: pure, no I/O.

``LevelBook`` holds the resting orders (id -> side, price, remaining) and
their aggregation by price level. ``apply(event)`` takes one decoded journal
event (``exchange.journal``) and returns the levels it changed as
``(side, price, new total)``; a total of 0 means the level is gone. Prices are
integer ticks, quantities integer shares.
"""
from __future__ import annotations

from dataclasses import dataclass

from exchange import journal

BUY, SELL = "buy", "sell"

Level = tuple[str, int, int]  # (side, price ticks, total quantity; 0 = removed)


@dataclass
class RestingOrder:
    side: str
    price: int
    remaining: int


class LevelBook:
    def __init__(self, sequence: int = 0, resting: dict[str, RestingOrder] | None = None):
        self.sequence = sequence
        self.resting: dict[str, RestingOrder] = {}
        self.totals: dict[str, dict[int, int]] = {BUY: {}, SELL: {}}
        for order_id, order in (resting or {}).items():
            self._add(order_id, order.side, order.price, order.remaining)

    # ---- reading ---------------------------------------------------------------

    def bids(self) -> list[tuple[int, int]]:
        """[(price, total)], best (highest) first."""
        return sorted(self.totals[BUY].items(), reverse=True)

    def asks(self) -> list[tuple[int, int]]:
        """[(price, total)], best (lowest) first."""
        return sorted(self.totals[SELL].items())

    def level(self, side: str, price: int) -> int:
        return self.totals[side].get(price, 0)

    # ---- applying the journal ---------------------------------------------------

    def apply(self, event: journal.JournalEvent) -> list[Level]:
        """Apply one journal event; returns the levels it changed (in the order they changed)."""
        if isinstance(event, journal.RestedEvent):
            return [self._add(event.order_id, event.side.value, event.price, event.remaining)]
        if isinstance(event, journal.TradeEvent):
            return self._set_remaining(event.maker_order_id, event.maker_remaining)
        if isinstance(event, journal.AmendedEvent):
            return self._set_remaining(event.order_id, event.remaining)
        if isinstance(event, journal.DoneEvent):
            return self._set_remaining(event.order_id, 0)
        return []  # accepted, parked, triggered, command_rejected, voided, halted, resumed: no level changes

    def _add(self, order_id: str, side: str, price: int, remaining: int) -> Level:
        self.resting[order_id] = RestingOrder(side, price, remaining)
        totals = self.totals[side]
        totals[price] = totals.get(price, 0) + remaining
        return side, price, totals[price]

    def _set_remaining(self, order_id: str, remaining: int) -> list[Level]:
        order = self.resting.get(order_id)
        if order is None:  # a taker that never rested, or an order already gone
            return []
        totals = self.totals[order.side]
        total = totals[order.price] - order.remaining + remaining
        if remaining > 0:
            order.remaining = remaining
        else:
            del self.resting[order_id]
        if total > 0:
            totals[order.price] = total
        else:
            del totals[order.price]
        return [(order.side, order.price, total)]


def changes_between(shown: dict[str, dict[int, int]], book: LevelBook) -> list[Level]:
    """The changes that turn the levels ``shown`` ({side: {price: total}}) into ``book``'s."""
    changes = []
    for side in (BUY, SELL):
        mine, theirs = shown[side], book.totals[side]
        for price in sorted(mine.keys() | theirs.keys()):
            if mine.get(price, 0) != theirs.get(price, 0):
                changes.append((side, price, theirs.get(price, 0)))
    return changes


def merge(changes: list[Level]) -> list[Level]:
    """One change per level, its last value, in the order levels first changed."""
    latest: dict[tuple[str, int], int] = {}
    for side, price, total in changes:
        latest[(side, price)] = total
    return [(side, price, total) for (side, price), total in latest.items()]
