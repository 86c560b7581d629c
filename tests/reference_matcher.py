"""A deliberately naive matcher: the specification ``OrderBook`` is tested against.

Resting orders live in one plain list. Every time the matcher needs the queue
of one side it filters and sorts that list afresh, so there is no index, level
or cache to get out of step. It is slow on purpose and small enough to check
by reading. It shares only the command and event records of
``orderbook.model`` (plain data), not a line of matching logic, so comparing
its events with the book's event by event tests the book's logic.

The rules it implements, in the order a new order meets them:

1. ``Accepted``.
2. Post-only: rejected (``post_only_would_take``) if any resting order on the
   other side is at an acceptable price.
3. FOK: canceled (``fok_not_fillable``), nothing traded, unless the crossing
   quantity reaches the order's quantity. Walking the queue best first, own
   orders are skipped under ``cancel_resting`` (they would be canceled, not
   traded) and end the walk under ``cancel_taker``/``cancel_both``.
4. Matching, best price first, earliest first at one price, each trade at the
   resting order's price. A resting order of the same user is canceled
   (``cancel_resting``), cancels the taker (``cancel_taker``) or both.
5. The rest: filled; or canceled (``self_trade``, ``market_remainder``,
   ``ioc_remainder`` for IOC and FOK); or a GTC limit order rests.

Cancel: ``not_open`` if no such resting order, ``not_found`` if it is someone
else's. Amend: only down, ``filled < new_quantity < quantity``, and the order
keeps its place in the queue; otherwise ``invalid_amend``.

Stop orders: ``Accepted``, then rejected (``stop_would_trigger``) if the last
trade is at or through the stop price (a buy stop at or below it, a sell stop
at or above it), else ``Parked``. After each new order's events, while some
parked stop is crossed by a trade of that command (a trade at or above a buy
stop's price, at or below a sell stop's), the next one is ``Triggered`` and
enters like a new order: a ``stop`` as a market order, a ``stop_limit`` as a
limit order, arriving now. The next one is, on each side, the stop whose price
is nearest (lowest buy stop, highest sell stop), earliest first at one price;
between the two sides, the earlier arrival. Cancels and amends reach parked
stops too.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from orderbook.model import (
    Accepted,
    Amended,
    AmendOrder,
    CancelOrder,
    CommandRejected,
    Done,
    NewOrder,
    OrderType,
    Parked,
    Rested,
    SelfTrade,
    Side,
    Status,
    TimeInForce,
    Trade,
    Triggered,
)


@dataclass
class ReferenceOrder:
    """Everything the reference knows about one order, resting or not."""

    order_id: str
    user_id: str
    side: Side
    price: int | None
    quantity: int
    remaining: int
    arrival: int
    status: Status = Status.NEW
    resting: bool = False

    @property
    def filled(self) -> int:
        return self.quantity - self.remaining


class ReferenceMatcher:
    def __init__(self) -> None:
        self.orders: dict[str, ReferenceOrder] = {}  # every order ever accepted
        self.book: list[ReferenceOrder] = []  # resting orders, in no particular order
        self.stops: list[tuple[NewOrder, int]] = []  # parked stop orders with their arrival, in no order
        self.last_price: int | None = None
        self.arrivals = 0

    # ---- queries ------------------------------------------------------------------

    def queue(self, side: Side) -> list[ReferenceOrder]:
        """One side's resting orders, best price first, then earliest first."""
        orders = [o for o in self.book if o.side is side]
        if side is Side.BUY:
            return sorted(orders, key=lambda o: (-o.price, o.arrival))
        return sorted(orders, key=lambda o: (o.price, o.arrival))

    def resting_orders(self, side: Side) -> list[ReferenceOrder]:
        return self.queue(side)

    def best_price(self, side: Side) -> int | None:
        queue = self.queue(side)
        return queue[0].price if queue else None

    @property
    def best_bid(self) -> int | None:
        return self.best_price(Side.BUY)

    @property
    def best_ask(self) -> int | None:
        return self.best_price(Side.SELL)

    def l2(self, depth: int | None = None) -> tuple[list[list[int]], list[list[int]]]:
        def levels(side: Side) -> list[list[int]]:
            out: list[list[int]] = []
            for order in self.queue(side):
                if out and out[-1][0] == order.price:
                    out[-1][1] += order.remaining
                else:
                    out.append([order.price, order.remaining])
            return out if depth is None else out[:depth]

        return levels(Side.BUY), levels(Side.SELL)

    # ---- commands -----------------------------------------------------------------

    def apply(self, command) -> list:
        if isinstance(command, NewOrder):
            return self.place(command)
        if isinstance(command, CancelOrder):
            return self.cancel(command)
        if isinstance(command, AmendOrder):
            return self.amend(command)
        raise TypeError(command)

    def run(self, commands) -> list:
        """Apply commands in order; all their events, flattened."""
        return [event for command in commands for event in self.apply(command)]

    def place(self, order: NewOrder) -> list:
        self.arrivals += 1
        events: list = [Accepted(order.order_id, order.user_id, order.side, order.quantity, order.price)]
        if order.type in (OrderType.STOP, OrderType.STOP_LIMIT):
            self.orders[order.order_id] = ReferenceOrder(order.order_id, order.user_id, order.side, order.price,
                                                         order.quantity, order.quantity, self.arrivals,
                                                         Status.UNTRIGGERED)
            if self.last_price is not None and self._crosses(order, [self.last_price]):
                self.orders[order.order_id].status = Status.REJECTED
                return [*events, Done(order.order_id, order.user_id, Status.REJECTED, "stop_would_trigger",
                                      order.quantity)]
            self.stops.append((order, self.arrivals))
            return [*events, Parked(order.order_id, order.user_id, order.side, order.stop_price)]
        self._enter(order, events)
        while True:
            crossed = [(o, a) for o, a in self.stops
                       if self._crosses(o, [e.price for e in events if isinstance(e, Trade)])]
            if not crossed:
                return events
            firsts = [min(((o, a) for o, a in crossed if o.side is side),
                          key=lambda oa: (oa[0].stop_price if side is Side.BUY else -oa[0].stop_price, oa[1]))
                      for side in Side if any(o.side is side for o, _ in crossed)]
            stop, arrival = min(firsts, key=lambda oa: oa[1])
            self.stops.remove((stop, arrival))
            events.append(Triggered(stop.order_id, stop.user_id, stop.side, stop.stop_price, self.last_price))
            self.arrivals += 1
            entering = NewOrder(stop.order_id, stop.user_id, stop.side, stop.quantity,
                                OrderType.LIMIT if stop.type is OrderType.STOP_LIMIT else OrderType.MARKET,
                                stop.price, stop.protection_price, stop.time_in_force, stop.post_only,
                                stop.self_trade)
            self._enter(entering, events)

    @staticmethod
    def _crosses(stop: NewOrder, prices: list[int]) -> bool:
        if stop.side is Side.BUY:
            return any(price >= stop.stop_price for price in prices)
        return any(price <= stop.stop_price for price in prices)

    def _enter(self, order: NewOrder, events: list) -> list:
        taker = ReferenceOrder(order.order_id, order.user_id, order.side, order.price,
                               order.quantity, order.quantity, self.arrivals)
        self.orders[order.order_id] = taker
        limit = order.price if order.type is OrderType.LIMIT else order.protection_price

        def acceptable(price: int) -> bool:
            if limit is None:
                return True
            return price <= limit if order.side is Side.BUY else price >= limit

        crossing = [o for o in self.queue(order.side.opposite()) if acceptable(o.price)]

        def finish(status: Status, reason: str) -> list:
            taker.status = status
            events.append(Done(order.order_id, order.user_id, status, reason, taker.remaining))
            return events

        if order.post_only and crossing:
            return finish(Status.REJECTED, "post_only_would_take")

        if order.time_in_force is TimeInForce.FOK and self._fillable(order, crossing) < order.quantity:
            return finish(Status.CANCELED, "fok_not_fillable")
        if self._walk(order, taker, crossing, events):
            return finish(Status.CANCELED, "self_trade")
        if taker.remaining == 0:
            return finish(Status.FILLED, "filled")
        if order.type is OrderType.MARKET:
            return finish(Status.CANCELED, "market_remainder")
        if order.time_in_force is not TimeInForce.GTC:
            return finish(Status.CANCELED, "ioc_remainder")
        taker.resting = True
        self.book.append(taker)
        events.append(Rested(order.order_id, order.user_id, order.side, order.price, taker.remaining))
        return events

    @staticmethod
    def _fillable(order: NewOrder, crossing: list[ReferenceOrder]) -> int:
        """FOK: the crossing quantity, skipping own orders under cancel_resting, stopping at them otherwise."""
        fillable = 0
        for resting in crossing:
            if resting.user_id == order.user_id:
                if order.self_trade is SelfTrade.CANCEL_RESTING:
                    continue
                break
            fillable += resting.remaining
        return fillable

    def _walk(self, order: NewOrder, taker: ReferenceOrder, crossing: list[ReferenceOrder], events: list) -> bool:
        """Trade down the crossing orders; True if the self-trade rule canceled the taker."""
        # Only orders already walked past leave the book below, so walking the
        # snapshot ``crossing`` is walking the live queue.
        for resting in crossing:
            if taker.remaining == 0:
                break
            if resting.user_id == order.user_id:
                if order.self_trade in (SelfTrade.CANCEL_RESTING, SelfTrade.CANCEL_BOTH):
                    self._leave_book(resting, Status.CANCELED)
                    events.append(Done(resting.order_id, resting.user_id, Status.CANCELED, "self_trade",
                                       resting.remaining))
                if order.self_trade in (SelfTrade.CANCEL_TAKER, SelfTrade.CANCEL_BOTH):
                    return True
                continue
            quantity = min(taker.remaining, resting.remaining)
            self.last_price = resting.price
            taker.remaining -= quantity
            resting.remaining -= quantity
            taker.status = resting.status = Status.PARTIALLY_FILLED
            events.append(Trade(
                maker_order_id=resting.order_id, taker_order_id=order.order_id,
                maker_user_id=resting.user_id, taker_user_id=order.user_id,
                taker_side=order.side, price=resting.price, quantity=quantity,
                maker_remaining=resting.remaining, taker_remaining=taker.remaining,
            ))
            if resting.remaining == 0:
                self._leave_book(resting, Status.FILLED)
                events.append(Done(resting.order_id, resting.user_id, Status.FILLED, "filled", 0))
        return False

    def cancel(self, command: CancelOrder) -> list:
        stop = self._parked(command.order_id)
        if stop is not None and stop.user_id == command.user_id:
            self.stops = [(o, a) for o, a in self.stops if o is not stop]
            self.orders[stop.order_id].status = Status.CANCELED
            return [Done(stop.order_id, stop.user_id, Status.CANCELED, "canceled", stop.quantity)]
        resting = self._find(command.order_id) or stop
        if resting is None:
            return [CommandRejected(command.order_id, command.user_id, "not_open")]
        if resting.user_id != command.user_id:
            return [CommandRejected(command.order_id, command.user_id, "not_found")]
        self._leave_book(resting, Status.CANCELED)
        return [Done(resting.order_id, resting.user_id, Status.CANCELED, "canceled", resting.remaining)]

    def amend(self, command: AmendOrder) -> list:
        stop = self._parked(command.order_id)
        if stop is not None and stop.user_id == command.user_id:
            if not 0 < command.new_quantity < stop.quantity:
                return [CommandRejected(command.order_id, command.user_id, "invalid_amend")]
            self.stops = [(replace(o, quantity=command.new_quantity) if o is stop else o, a) for o, a in self.stops]
            record = self.orders[stop.order_id]
            record.quantity = record.remaining = command.new_quantity
            return [Amended(stop.order_id, stop.user_id, command.new_quantity, command.new_quantity)]
        resting = self._find(command.order_id) or stop
        if resting is None:
            return [CommandRejected(command.order_id, command.user_id, "not_open")]
        if resting.user_id != command.user_id:
            return [CommandRejected(command.order_id, command.user_id, "not_found")]
        if not resting.filled < command.new_quantity < resting.quantity:
            return [CommandRejected(command.order_id, command.user_id, "invalid_amend")]
        filled = resting.filled
        resting.quantity = command.new_quantity
        resting.remaining = command.new_quantity - filled
        return [Amended(resting.order_id, resting.user_id, resting.quantity, resting.remaining)]

    # ---- internals ----------------------------------------------------------------

    def parked_orders(self) -> list[NewOrder]:
        return [order for order, _arrival in self.stops]

    def _parked(self, order_id: str) -> NewOrder | None:
        return next((order for order, _arrival in self.stops if order.order_id == order_id), None)

    def _find(self, order_id: str) -> ReferenceOrder | None:
        matches = [o for o in self.book if o.order_id == order_id]
        assert len(matches) <= 1, f"order id {order_id} rests twice"
        return matches[0] if matches else None

    def _leave_book(self, order: ReferenceOrder, status: Status) -> None:
        order.status = status
        if order.resting:
            order.resting = False
            self.book.remove(order)
