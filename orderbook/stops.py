"""Parked stop orders of one book, in the order trades trigger them. Pure: no I/O, no money.

A buy stop triggers on a trade at or above its stop price, a sell stop on one at
or below it. Of the stops one command's trades crossed, a side's nearest stop
price triggers first (the price reached it first), then the earlier arrival;
between a buy and a sell stop both crossed, the earlier arrival.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from sortedcontainers import SortedDict

from orderbook.model import Side, StopOrder


class StopBook:
    def __init__(self) -> None:
        # First key = the next to trigger on its side: buys by stop price up, sells down.
        self._waiting: dict[Side, SortedDict] = {Side.BUY: SortedDict(), Side.SELL: SortedDict()}
        self._by_id: dict[str, StopOrder] = {}

    def __contains__(self, order_id: str) -> bool:
        return order_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[StopOrder]:
        """Every parked stop, buys then sells, each side in trigger order."""
        for side in (Side.BUY, Side.SELL):
            yield from self._waiting[side].values()

    def get(self, order_id: str) -> StopOrder | None:
        return self._by_id.get(order_id)

    @staticmethod
    def _key(stop: StopOrder) -> tuple[int, int]:
        return (stop.stop_price if stop.side is Side.BUY else -stop.stop_price), stop.priority

    def add(self, stop: StopOrder) -> None:
        self._waiting[stop.side][self._key(stop)] = stop
        self._by_id[stop.order_id] = stop

    def remove(self, order_id: str) -> StopOrder | None:
        stop = self._by_id.pop(order_id, None)
        if stop is not None:
            del self._waiting[stop.side][self._key(stop)]
        return stop

    def resize(self, order_id: str, quantity: int) -> StopOrder:
        """Cut a parked stop's quantity (an amend); it keeps its place."""
        stop = self._by_id[order_id]
        cut = StopOrder(replace(stop.order, quantity=quantity), stop.priority)
        self._waiting[stop.side][self._key(stop)] = self._by_id[order_id] = cut
        return cut

    def next_crossed(self, low: int, high: int) -> StopOrder | None:
        """The stop that trades between ``low`` and ``high`` trigger next, still parked; None if none."""
        crossed = [levels.peekitem(0)[1] for levels in self._waiting.values()
                   if levels and levels.peekitem(0)[1].crossed_by(low, high)]
        return min(crossed, key=lambda stop: stop.priority) if crossed else None
