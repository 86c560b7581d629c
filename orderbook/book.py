"""A pure limit order book: price-time priority, no I/O, no money.

``place``, ``cancel`` and ``amend`` take a command and return the events it
caused, in order. The Redis engine drives this same class, so the property
tests of this module cover the matching the exchange really does.

Stop orders park off the book (``orderbook.stops``) until a trade reaches their stop
price; a command's trades trigger them at its end, so a cascade is one command's events.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from sortedcontainers import SortedDict

from exchange.journal import DoneReason, RejectReason
from orderbook.model import (
    Accepted,
    Amended,
    AmendOrder,
    CancelOrder,
    Command,
    CommandRejected,
    Done,
    Event,
    NewOrder,
    OrderType,
    Parked,
    Rested,
    RestingOrder,
    SelfTrade,
    Side,
    Status,
    StopOrder,
    TimeInForce,
    Trade,
    Triggered,
)
from orderbook.stops import StopBook

# What the venue makes of a stop as it triggers (the price band): the order as it may trade, or why not.
Admission = Callable[[NewOrder], "NewOrder | DoneReason"]


class OrderBook:
    def __init__(self) -> None:
        # Both sides are keyed so that the first key is the best price:
        # asks by price, bids by -price. Each level keeps arrival order.
        self._levels: dict[Side, SortedDict] = {Side.BUY: SortedDict(), Side.SELL: SortedDict()}
        self._orders: dict[str, RestingOrder] = {}
        self._open_by_user: dict[str, int] = {}
        self._totals: dict[Side, dict[int, int]] = {Side.BUY: {}, Side.SELL: {}}  # price -> quantity resting
        self._next_priority = 0
        self.stops = StopBook()  # parked stop orders
        self.last_price: int | None = None  # the last trade's price
        self._traded: tuple[int, int] | None = None  # (low, high) of the current command's trades

    # ---- queries ------------------------------------------------------------

    def __contains__(self, order_id: str) -> bool:
        return order_id in self._orders

    def get(self, order_id: str) -> RestingOrder | None:
        return self._orders.get(order_id)

    def best_price(self, side: Side) -> int | None:
        levels = self._levels[side]
        if not levels:
            return None
        key = levels.keys()[0]
        return -key if side is Side.BUY else key

    @property
    def best_bid(self) -> int | None:
        return self.best_price(Side.BUY)

    @property
    def best_ask(self) -> int | None:
        return self.best_price(Side.SELL)

    def open_orders(self, user_id: str) -> int:
        """How many orders ``user_id`` has open in this book: resting, or parked stops."""
        return self._open_by_user.get(user_id, 0)

    def level_quantity(self, side: Side, price: int) -> int:
        """The total remaining quantity resting at one price (0: no such level)."""
        return self._totals[side].get(price, 0)

    def resting_orders(self, side: Side) -> Iterator[RestingOrder]:
        """Resting orders of one side, best first (price, then arrival)."""
        for level in self._levels[side].values():
            yield from level.values()

    def l2(self, depth: int | None = None) -> tuple[list[list[int]], list[list[int]]]:
        """Aggregated levels: ([[price, qty], ...] bids, [[price, qty], ...] asks)."""
        def side_levels(side: Side) -> list[list[int]]:
            out: list[list[int]] = []
            for key, _level in self._levels[side].items():
                if depth is not None and len(out) >= depth:
                    break
                price = -key if side is Side.BUY else key
                out.append([price, self._totals[side][price]])
            return out

        return side_levels(Side.BUY), side_levels(Side.SELL)

    def validate(self) -> None:
        """Raise AssertionError if the internal state is inconsistent."""
        seen = set()
        for side, levels in self._levels.items():
            for key, level in levels.items():
                assert level, f"empty level {key} on {side}"
                priorities = [o.priority for o in level.values()]
                assert priorities == sorted(priorities), "level out of arrival order"
                for order_id, order in level.items():
                    price = -key if side is Side.BUY else key
                    assert order.side is side and order.price == price
                    assert 0 < order.remaining <= order.quantity
                    assert self._orders.get(order_id) is order
                    seen.add(order_id)
        assert seen == set(self._orders), "order index out of step with levels"
        by_user: dict[str, int] = {}
        for order in [*self._orders.values(), *self.stops]:
            by_user[order.user_id] = by_user.get(order.user_id, 0) + 1
        assert not any(order_id in self.stops for order_id in self._orders), "an order both parked and resting"
        assert by_user == self._open_by_user, "open-order counts out of step with the orders"
        for side, levels in self._levels.items():
            totals = {(-key if side is Side.BUY else key): sum(o.remaining for o in level.values())
                      for key, level in levels.items()}
            assert totals == self._totals[side], f"level totals out of step on {side}"
        bid, ask = self.best_bid, self.best_ask
        assert bid is None or ask is None or bid < ask, f"crossed book {bid} >= {ask}"

    # ---- loading (from a store) ------------------------------------------------

    def load(self, order: RestingOrder) -> None:
        """Insert an already-resting order (rebuilding from Redis), in priority order within a level."""
        self._insert(order)
        self._next_priority = max(self._next_priority, order.priority + 1)

    def resize(self, order_id: str, quantity: int, remaining: int) -> None:
        """Set a resting order's quantities as they are elsewhere (e.g. replayed from the journal)."""
        order = self._orders[order_id]
        self._totals[order.side][order.price] += remaining - order.remaining
        order.quantity, order.remaining = quantity, remaining

    def load_stop(self, stop: StopOrder) -> None:
        """Park an already-parked stop order, e.g. when rebuilding from Redis."""
        self.stops.add(stop)
        self._count_open(stop.user_id, 1)
        self._next_priority = max(self._next_priority, stop.priority + 1)

    def discard(self, order_id: str) -> None:
        """Drop a resting or parked order that left the book elsewhere (e.g. replayed from the journal)."""
        order = self._orders.get(order_id)
        if order is not None:
            self._remove(order)
        stop = self.stops.remove(order_id)
        if stop is not None:
            self._count_open(stop.user_id, -1)

    # ---- commands -------------------------------------------------------------

    def apply(self, command: Command, priority: int | None = None) -> list[Event]:
        if isinstance(command, NewOrder):
            return self.place(command, priority)
        if isinstance(command, CancelOrder):
            return self.cancel(command)
        return self.amend(command)

    def reject(self, order: NewOrder, reason: DoneReason, priority: int | None = None) -> list[Event]:
        """Accept the order only to reject it whole (a limit its owner is over): it never
        touches the book, and its whole quantity is done."""
        if priority is not None:
            self._next_priority = max(self._next_priority, priority + 1)
        return [Accepted(order.order_id, order.user_id, order.side, order.quantity, order.price),
                Done(order.order_id, order.user_id, Status.REJECTED, reason, order.quantity)]

    def place(self, order: NewOrder, priority: int | None = None, admit: Admission | None = None) -> list[Event]:
        """Place the order, then enter every stop its trades trigger (see ``_trigger_stops``)."""
        if priority is None:
            priority = self._next_priority
        self._next_priority = max(self._next_priority, priority + 1)
        self._traded = None
        events: list[Event] = [Accepted(order.order_id, order.user_id, order.side, order.quantity, order.price)]
        if order.type.is_stop:
            self._park(StopOrder(order, priority), events)
        else:
            self._enter(order, priority, events)
        self._trigger_stops(priority, events, admit)
        return events

    def _enter(self, order: NewOrder, priority: int, events: list[Event]) -> None:
        """Match the order, then rest what is left of it or end it, appending the events."""
        refusal = self._refusal(order)
        if refusal is not None:
            events.append(Done(order.order_id, order.user_id, *refusal, order.quantity))
            return
        remaining, canceled_by_stp = self._take(order, events)
        ending = self._ending(order, remaining, canceled_by_stp)
        if ending is not None:
            events.append(Done(order.order_id, order.user_id, *ending, remaining))
            return
        price = order.price
        assert price is not None, "only a limit order rests"  # a market order's remainder ended above
        self._insert(RestingOrder(order.order_id, order.user_id, order.side, price, order.quantity, remaining, priority))
        events.append(Rested(order.order_id, order.user_id, order.side, price, remaining))

    def _park(self, stop: StopOrder, events: list[Event]) -> None:
        """Park a stop order, unless the last trade already reached its stop price."""
        order = stop.order
        if self.last_price is not None and stop.crossed_by(self.last_price, self.last_price):
            events.append(Done(order.order_id, order.user_id, Status.REJECTED, DoneReason.STOP_WOULD_TRIGGER,
                               order.quantity))
            return
        self.stops.add(stop)
        self._count_open(order.user_id, 1)
        events.append(Parked(order.order_id, order.user_id, order.side, stop.stop_price))

    def _trigger_stops(self, priority: int, events: list[Event], admit: Admission | None) -> None:
        """Enter, one at a time, each parked stop the command's trades (its own, then those of the
        stops it triggered) crossed. Its priority is its triggered event's sequence (the command's
        priority plus the event's place among the command's events, as the engine journals them).
        ``admit`` (the price band) may bound or refuse it."""
        while self._traded is not None:
            stop = self.stops.next_crossed(*self._traded)
            if stop is None:
                return
            self.stops.remove(stop.order_id)
            self._count_open(stop.user_id, -1)
            entry_priority = priority + len(events)
            self._next_priority = max(self._next_priority, entry_priority + 1)
            assert self.last_price is not None  # a trade crossed it
            events.append(Triggered(stop.order_id, stop.user_id, stop.side, stop.stop_price, self.last_price))
            order = stop.order.triggered()
            admitted = order if admit is None else admit(order)
            if isinstance(admitted, DoneReason):
                events.append(Done(order.order_id, order.user_id, Status.REJECTED, admitted, order.quantity))
            else:
                self._enter(admitted, entry_priority, events)

    def _refusal(self, order: NewOrder) -> tuple[Status, DoneReason] | None:
        """Why the order is done before it takes anything, or None."""
        if order.post_only and self._crosses(order.side, order.limit, self.best_price(order.side.opposite())):
            return Status.REJECTED, DoneReason.POST_ONLY_WOULD_TAKE
        if order.time_in_force is TimeInForce.FOK and self._fillable(order) < order.quantity:
            return Status.CANCELED, DoneReason.FOK_NOT_FILLABLE
        return None

    def _take(self, order: NewOrder, events: list[Event]) -> tuple[int, bool]:
        """Trade ``order`` against the opposite side, best price then earliest, appending the
        events; returns (what is left, whether its self-trade rule canceled it)."""
        opposite = order.side.opposite()
        remaining = order.quantity
        while remaining:
            best = self.best_price(opposite)
            if best is None or not self._crosses(order.side, order.limit, best):
                break
            resting = next(iter(self._levels[opposite][self._key(opposite, best)].values()))
            if resting.user_id == order.user_id:
                if order.self_trade in (SelfTrade.CANCEL_RESTING, SelfTrade.CANCEL_BOTH):
                    self._remove(resting)
                    events.append(Done(resting.order_id, resting.user_id, Status.CANCELED, DoneReason.SELF_TRADE,
                                       resting.remaining))
                if order.self_trade in (SelfTrade.CANCEL_TAKER, SelfTrade.CANCEL_BOTH):
                    return remaining, True
                continue
            quantity = min(remaining, resting.remaining)
            self._note_trade(resting.price)
            resting.remaining -= quantity
            self._totals[opposite][resting.price] -= quantity
            remaining -= quantity
            events.append(Trade(
                maker_order_id=resting.order_id, taker_order_id=order.order_id,
                maker_user_id=resting.user_id, taker_user_id=order.user_id,
                taker_side=order.side, price=resting.price, quantity=quantity,
                maker_remaining=resting.remaining, taker_remaining=remaining,
            ))
            if resting.remaining == 0:
                self._remove(resting)
                events.append(Done(resting.order_id, resting.user_id, Status.FILLED, DoneReason.FILLED, 0))
        return remaining, False

    @staticmethod
    def _ending(order: NewOrder, remaining: int, canceled_by_stp: bool) -> tuple[Status, DoneReason] | None:
        """How the order ends after taking what it could, or None if its remainder rests."""
        if remaining == 0:
            return Status.FILLED, DoneReason.FILLED
        if canceled_by_stp:
            return Status.CANCELED, DoneReason.SELF_TRADE
        if order.type is OrderType.MARKET:
            return Status.CANCELED, DoneReason.MARKET_REMAINDER
        if order.time_in_force is not TimeInForce.GTC:
            return Status.CANCELED, DoneReason.IOC_REMAINDER
        return None

    def cancel(self, command: CancelOrder) -> list[Event]:
        resting = self._owned(command.order_id, command.user_id)
        if isinstance(resting, CommandRejected):
            return [resting]
        if isinstance(resting, StopOrder):
            self.discard(resting.order_id)
            return [Done(resting.order_id, resting.user_id, Status.CANCELED, DoneReason.CANCELED,
                         resting.order.quantity)]
        self._remove(resting)
        return [Done(resting.order_id, resting.user_id, Status.CANCELED, DoneReason.CANCELED, resting.remaining)]

    def amend(self, command: AmendOrder) -> list[Event]:
        resting = self._owned(command.order_id, command.user_id)
        if isinstance(resting, CommandRejected):
            return [resting]
        if isinstance(resting, StopOrder):  # nothing of it has filled
            if not 0 < command.new_quantity < resting.order.quantity:
                return [CommandRejected(command.order_id, command.user_id, RejectReason.INVALID_AMEND)]
            self.stops.resize(resting.order_id, command.new_quantity)
            return [Amended(resting.order_id, resting.user_id, command.new_quantity, command.new_quantity)]
        if not resting.filled < command.new_quantity < resting.quantity:
            return [CommandRejected(command.order_id, command.user_id, RejectReason.INVALID_AMEND)]
        released = resting.quantity - command.new_quantity
        resting.quantity = command.new_quantity
        resting.remaining -= released
        self._totals[resting.side][resting.price] -= released
        return [Amended(resting.order_id, resting.user_id, resting.quantity, resting.remaining)]

    # ---- internals ------------------------------------------------------------

    @staticmethod
    def _key(side: Side, price: int) -> int:
        return -price if side is Side.BUY else price

    @staticmethod
    def _crosses(side: Side, limit: int | None, opposite_best: int | None) -> bool:
        if opposite_best is None:
            return False
        if limit is None:
            return True
        return opposite_best <= limit if side is Side.BUY else opposite_best >= limit

    def _fillable(self, order: NewOrder) -> int:
        """How much of ``order`` would trade, honouring its self-trade rule."""
        available = 0
        opposite = order.side.opposite()
        for resting in self.resting_orders(opposite):
            if not self._crosses(order.side, order.limit, resting.price):
                break
            if resting.user_id == order.user_id:
                if order.self_trade is SelfTrade.CANCEL_RESTING:
                    continue
                break
            available += resting.remaining
            if available >= order.quantity:
                break
        return available

    def _owned(self, order_id: str, user_id: str) -> RestingOrder | StopOrder | CommandRejected:
        resting = self._orders.get(order_id) or self.stops.get(order_id)
        if resting is None:
            return CommandRejected(order_id, user_id, RejectReason.NOT_OPEN)
        if resting.user_id != user_id:
            return CommandRejected(order_id, user_id, RejectReason.NOT_FOUND)
        return resting

    def _insert(self, order: RestingOrder) -> None:
        levels = self._levels[order.side]
        key = self._key(order.side, order.price)
        level = levels.get(key)
        if level is None:
            level = levels[key] = {}
        level[order.order_id] = order
        self._orders[order.order_id] = order
        totals = self._totals[order.side]
        totals[order.price] = totals.get(order.price, 0) + order.remaining
        self._count_open(order.user_id, 1)

    def _count_open(self, user_id: str, change: int) -> None:
        left = self._open_by_user.get(user_id, 0) + change
        if left:
            self._open_by_user[user_id] = left
        else:
            del self._open_by_user[user_id]

    def _note_trade(self, price: int) -> None:
        """A trade at ``price``: the last price, and the range the command's trades have covered."""
        self.last_price = price
        low, high = self._traded or (price, price)
        self._traded = min(low, price), max(high, price)

    def _remove(self, order: RestingOrder) -> None:
        levels = self._levels[order.side]
        key = self._key(order.side, order.price)
        level = levels[key]
        del level[order.order_id]
        if not level:
            del levels[key]
            del self._totals[order.side][order.price]
        else:
            self._totals[order.side][order.price] -= order.remaining
        del self._orders[order.order_id]
        self._count_open(order.user_id, -1)
