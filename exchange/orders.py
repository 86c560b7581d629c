"""The order's vocabulary: sides, types, time in force, self-trade rules and statuses.

Their values are what the API, the journal (``exchange.journal``, which re-exports them)
and the stored order records spell.
"""
from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP = "stop"  # waits for a trade at or through its stop price, then enters as a market order
    STOP_LIMIT = "stop_limit"  # ... then enters as a limit order at its price

    @property
    def is_stop(self) -> bool:
        return self in (OrderType.STOP, OrderType.STOP_LIMIT)

    @property
    def is_limit(self) -> bool:
        """Whether its ``price`` is a limit (once a stop triggers, it trades as one)."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class SelfTrade(StrEnum):
    """What happens when a taker meets a resting order of the same user."""

    CANCEL_RESTING = "cancel_resting"
    CANCEL_TAKER = "cancel_taker"
    CANCEL_BOTH = "cancel_both"


class Status(StrEnum):
    UNTRIGGERED = "untriggered"  # a stop order waiting for its trigger: open, not on the book
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_done(self) -> bool:
        return self in (Status.FILLED, Status.CANCELED, Status.REJECTED)
