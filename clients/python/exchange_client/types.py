"""The shapes of the exchange's answers, as typed dictionaries (what ``json()`` gives, typed).

Prices and cash are decimal strings ("12.34"), quantities integers, times epoch milliseconds.
"""
from __future__ import annotations

from typing import Literal, TypedDict

Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market", "stop", "stop_limit"]
OrderStatus = Literal["untriggered", "new", "partially_filled", "filled", "canceled", "rejected"]


class Session(TypedDict):
    user_id: str
    username: str
    token: str


class Fill(TypedDict):
    trade_id: str
    price: str
    quantity: int
    fee: str
    liquidity: Literal["maker", "taker"]
    time: int


class AccountFill(Fill):
    """A fill from GET /fills: also its order, symbol and side."""

    symbol: str
    side: Side
    order_id: str


class _OrderRequired(TypedDict):
    order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    price: str | None
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    status: OrderStatus
    reason: str | None
    time_in_force: Literal["GTC", "IOC", "FOK"]
    post_only: bool
    created_at: int
    updated_at: int


class Order(_OrderRequired, total=False):
    protection_price: str  # a market or stop order's collar
    stop_price: str  # a stop or stop-limit order's trigger
    fills: list[Fill]


class Balance(TypedDict):
    available: str | int  # cash: a decimal string; shares: an integer
    on_hold: str | int


class Account(TypedDict):
    user_id: str
    balances: dict[str, Balance]


class Book(TypedDict):
    symbol: str
    sequence: int
    bids: list[list]  # [["12.34", quantity], ...] best first
    asks: list[list]


class Ticker(TypedDict, total=False):
    symbol: str
    sequence: int
    bid: str | None
    ask: str | None
    spread: str | None
    mid: str | None
    last: str | None
    volume_24h: int
    status: Literal["trading", "halted"]
    halted_until: int | None


class Trade(TypedDict):
    trade_id: str
    price: str
    quantity: int
    time: int
    taker_side: Side
    sequence: int


class Candle(TypedDict):
    start: int  # epoch seconds
    open: str
    high: str
    low: str
    close: str
    volume: int
    trades: int


class SymbolInfo(TypedDict, total=False):
    symbol: str
    name: str
    tick_size: str
    currency: str
    maker_fee_bps: int
    taker_fee_bps: int
    status: Literal["trading", "halted"]
    halted_until: int | None


class ApiKey(TypedDict, total=False):
    key_id: str
    secret: str  # only in the answer that made it
    scopes: list[Literal["read", "trade"]]
    label: str | None
    created_at: int
