"""Commands, resting orders and events of the matching engine.

Pure data: no I/O, no money. Prices are integer ticks, quantities integer shares.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from exchange.journal import (
    DoneReason,
    HaltReason,
    OrderType,
    RejectReason,
    ResumeReason,
    SelfTrade,
    Side,
    Status,
    TimeInForce,
)


@dataclass(frozen=True)
class NewOrder:
    order_id: str
    user_id: str
    side: Side
    quantity: int
    type: OrderType = OrderType.LIMIT
    price: int | None = None  # limit price in ticks; None for market orders
    # The worst price a market order may trade at (its collar); None = unbounded.
    protection_price: int | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    self_trade: SelfTrade = SelfTrade.CANCEL_RESTING
    stop_price: int | None = None  # a stop order's trigger (type stop or stop_limit)

    @property
    def limit(self) -> int | None:
        """The worst price it may trade at: its limit price, else its collar."""
        return self.price if self.type.is_limit else self.protection_price

    def triggered(self) -> NewOrder:
        """A stop order as it enters the book once triggered: a market order, or a limit order."""
        return replace(self, type=OrderType.LIMIT if self.type is OrderType.STOP_LIMIT else OrderType.MARKET,
                       stop_price=None)


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    user_id: str


@dataclass(frozen=True)
class AmendOrder:
    """Reduce an order's total quantity; it keeps its time priority."""

    order_id: str
    user_id: str
    new_quantity: int


@dataclass(frozen=True)
class VoidOrder:
    """Give up on an order that never reached the book: its hold is released once the
    journal says ``voided``, and the book refuses the id for good. Reconciliation sends
    it through the inbox, so it is ordered with the order's own command, never racing it."""

    order_id: str
    user_id: str
    asset: str  # what the order's hold is in: 'cash' or a symbol


@dataclass(frozen=True)
class HaltSymbol:
    """An operator's halt: new orders are refused until ``until_ms`` (None: until resumed)."""

    user_id: str  # who asked: "operator"
    until_ms: int | None


@dataclass(frozen=True)
class ResumeSymbol:
    """An operator's end to a halt, whatever started it."""

    user_id: str


Command = NewOrder | CancelOrder | AmendOrder


@dataclass(frozen=True)
class StopOrder:
    """A parked stop order: it enters the book when a trade reaches ``order.stop_price``."""

    order: NewOrder
    priority: int  # arrival sequence; among stops one trade crosses, earlier triggers first

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def user_id(self) -> str:
        return self.order.user_id

    @property
    def side(self) -> Side:
        return self.order.side

    @property
    def stop_price(self) -> int:
        return self.order.stop_price  # type: ignore[return-value]

    def crossed_by(self, low: int, high: int) -> bool:
        """Whether trades between ``low`` and ``high`` reached its stop price: a buy stop's
        trigger is a trade at or above it, a sell stop's one at or below it."""
        return high >= self.stop_price if self.side is Side.BUY else low <= self.stop_price


@dataclass
class RestingOrder:
    order_id: str
    user_id: str
    side: Side
    price: int
    quantity: int
    remaining: int
    priority: int  # arrival sequence; earlier wins at equal price

    @property
    def filled(self) -> int:
        return self.quantity - self.remaining


# ---- events -----------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    order_id: str
    user_id: str
    side: Side
    quantity: int
    price: int | None
    type: str = "accepted"


@dataclass(frozen=True)
class Trade:
    maker_order_id: str
    taker_order_id: str
    maker_user_id: str
    taker_user_id: str
    taker_side: Side
    price: int
    quantity: int
    maker_remaining: int
    taker_remaining: int
    type: str = "trade"


@dataclass(frozen=True)
class Rested:
    order_id: str
    user_id: str
    side: Side
    price: int
    remaining: int
    type: str = "rested"


@dataclass(frozen=True)
class Parked:
    """A stop order waits for its trigger, off the book."""

    order_id: str
    user_id: str
    side: Side
    stop_price: int
    type: str = "parked"


@dataclass(frozen=True)
class Triggered:
    """A trade at ``trade_price`` crossed a parked stop: the order enters the book now."""

    order_id: str
    user_id: str
    side: Side
    stop_price: int
    trade_price: int
    type: str = "triggered"


@dataclass(frozen=True)
class Amended:
    order_id: str
    user_id: str
    quantity: int
    remaining: int
    type: str = "amended"


@dataclass(frozen=True)
class Done:
    """An order left the book (or never entered it): filled, canceled or rejected.

    ``remaining`` is the quantity that will never trade; its hold can be released.
    """

    order_id: str
    user_id: str
    status: Status
    reason: DoneReason
    remaining: int
    type: str = "done"


@dataclass(frozen=True)
class CommandRejected:
    """A cancel or amend that could not be applied (unknown order, not yours, ...)."""

    order_id: str
    user_id: str
    code: RejectReason
    type: str = "command_rejected"


@dataclass(frozen=True)
class Voided:
    """An order id the book will never accept; its hold goes back to available."""

    order_id: str
    user_id: str
    asset: str
    type: str = "voided"


@dataclass(frozen=True)
class Halted:
    """The symbol stops taking new orders until ``until_ms`` (None: until resumed); cancels go on."""

    until_ms: int | None
    reason: HaltReason
    type: str = "halted"


@dataclass(frozen=True)
class Resumed:
    """The symbol takes new orders again, its book as the halt left it."""

    reason: ResumeReason
    type: str = "resumed"


Event = Accepted | Trade | Rested | Parked | Triggered | Amended | Done | CommandRejected | Voided | Halted | Resumed

