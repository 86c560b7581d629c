"""A compiled rule: immutable records with money as integer cents and share counts as integers.

``bots.rules.parsing`` builds these from a rule's JSON; ``bots.rules.evaluation``
reads them against a ``MarketView``. Nothing here does I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Union

COMPARISONS = ("gt", "gte", "lt", "lte", "eq")


# ---- operands --------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    """A constant: cents when compared with money, shares when compared with ``$position``."""
    value: int


@dataclass(frozen=True)
class MarketPrice:
    """``$ticker`` (last trade), ``$bid``, ``$ask`` or ``$mid`` of a symbol, in cents."""
    field: str
    symbol: str


@dataclass(frozen=True)
class Position:
    """Shares of a symbol the rule's owner holds (available + on hold)."""
    symbol: str


@dataclass(frozen=True)
class Cash:
    """Cash the rule's owner holds (available + on hold), in cents."""


Operand = Union[Literal, MarketPrice, Position, Cash]


# ---- conditions --------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    left: Operand
    op: str  # one of COMPARISONS
    right: Operand


@dataclass(frozen=True)
class AllOf:
    conditions: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple["Condition", ...]


Condition = Union[Comparison, AllOf, AnyOf]


# ---- actions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlaceOrder:
    symbol: str
    side: str             # "buy" | "sell"
    type: str             # "limit" | "market" | "stop" | "stop_limit"
    price: int | None     # cents; None for a market or stop order
    quantity: int
    time_in_force: str = "GTC"
    stop_price: int | None = None  # cents; a stop or stop-limit order's trigger


@dataclass(frozen=True)
class CancelAll:
    symbol: str | None = None  # None: every symbol


Action = Union[PlaceOrder, CancelAll]


# ---- a rule: one step of a chain -------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    when: Condition | None      # None: the step fires as soon as it starts
    do: tuple[Action, ...]
    then: "Rule | None" = None

    def steps(self) -> list["Rule"]:
        """The chain: this step, its $then, that step's $then, ..."""
        chain, step = [], self
        while step is not None:
            chain.append(step)
            step = step.then
        return chain


# ---- what a rule is evaluated against ---------------------------------------------------------

@dataclass(frozen=True)
class Quote:
    """One symbol's prices in cents; None when there is none (no trade yet, an empty side)."""
    last: int | None = None
    bid: int | None = None
    ask: int | None = None


@dataclass(frozen=True)
class MarketView:
    """A snapshot: quotes per symbol, and the owner's holdings (None when not read)."""
    quotes: Mapping[str, Quote] = field(default_factory=dict)
    positions: Mapping[str, int] | None = None
    cash: int | None = None
