"""What the API answers, as pydantic models: the response schemas of the OpenAPI document.

They describe the answers; the views build them (orderbook/views.py and the blueprints),
and tests/test_openapi_answers.py holds every answer of a real session to its schema.
Money is a decimal string ("12.34"), quantities integer shares, times epoch milliseconds
unless a field says seconds. ``extra="forbid"``: a field the document does not name is a
failing test, not a silent addition.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from exchange.orders import OrderType, Side, Status, TimeInForce

Price = str  # a decimal string of dollars and cents, e.g. "12.34"
# A statistic that may not be finite (a degenerate pair, e.g. two prices moving in lockstep): null then.
Statistic = Annotated[float | None, Field(description="null when not finite")]
Cash = str
Halt = Literal["trading", "halted"]
# Pairs as two-item lists (JSON Schema's prefixItems, which some OpenAPI tools misread, would say more).
Level = Annotated[list[str | int], Field(min_length=2, max_length=2, description="[price, quantity]")]
Point = Annotated[list[int | float], Field(min_length=2, max_length=2, description="[start, value]")]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Answer):
    code: str = Field(description="machine-readable, e.g. insufficient_funds")
    message: str


class ErrorBody(Answer):
    """Every 4xx, and a 503 while a data store is away: {"error": {"code", "message"}}."""
    error: ErrorDetail


class Session(Answer):
    user_id: str
    username: str
    token: str = Field(description="a bearer token: Authorization: Bearer <token>")


class ApiKey(Answer):
    key_id: str
    scopes: list[Literal["read", "trade"]]
    label: str | None
    created_at: int


class NewApiKey(ApiKey):
    secret: str = Field(description="shown in this answer only; sign requests with it")


class ApiKeys(Answer):
    api_keys: list[ApiKey]


class Fill(Answer):
    trade_id: str
    price: Price
    quantity: int
    fee: Cash
    liquidity: Literal["maker", "taker"]
    time: int


class HistoryFill(Fill):
    symbol: str
    side: Side
    order_id: str


class Order(Answer):
    order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    price: Price | None = Field(description="null for a market or stop order")
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    status: Status
    reason: str | None = Field(description="why a done order ended, e.g. canceled_by_user, ioc_unfilled")
    time_in_force: TimeInForce
    post_only: bool
    created_at: int
    updated_at: int
    protection_price: Price | None = Field(default=None, description="a market or stop order's price collar")
    stop_price: Price | None = None
    fills: list[Fill] | None = Field(default=None, description="the order's own fills, where the answer has them")


class PendingOrder(Answer):
    """202: accepted, and the book has not answered yet; GET /orders/{order_id} shows it later."""
    order_id: str
    client_order_id: str | None = None
    symbol: str | None = None
    status: Literal["pending"]
    message: str


class OrderOrPending(RootModel[Order | PendingOrder]):
    """One order: as the book left it, or ``pending`` while it is still on its way there."""


class PlacedOrders(Answer):
    orders: list[Order | PendingOrder | ErrorBody] = Field(description="one answer per order, in order")


class OrdersPage(Answer):
    orders: list[Order]
    next_cursor: str | None


class CanceledOrders(Answer):
    canceled: list[Order]


class CashBalance(Answer):
    available: Cash
    on_hold: Cash


class ShareBalance(Answer):
    available: int
    on_hold: int


class Account(Answer):
    user_id: str
    balances: dict[str, CashBalance | ShareBalance] = Field(description="USD in cash, each symbol in shares")


class CashAccount(CashBalance):
    user_id: str


class Holding(ShareBalance):
    user_id: str
    symbol: str


class FillsPage(Answer):
    fills: list[HistoryFill]
    next_cursor: str | None


class TradingStatus(Answer):
    status: Halt
    halted_until: int | None
    halt_reason: str | None


class Listing(TradingStatus):
    symbol: str
    name: str
    tick_size: Price
    currency: str
    maker_fee_bps: int
    taker_fee_bps: int


class Symbols(Answer):
    symbols: list[Listing]


class Book(Answer):
    symbol: str
    sequence: int
    bids: list[Level] = Field(description="[price, quantity] levels, best first")
    asks: list[Level]


class BookHash(Answer):
    symbol: str
    sequence: int
    hash: str


class Ticker(TradingStatus):
    symbol: str
    sequence: int
    bid: Price | None
    ask: Price | None
    spread: Price | None
    mid: str | None = Field(description="may fall on half a cent, e.g. \"12.345\"")
    last: Price | None
    volume_24h: int
    open_24h: Price | None
    change_24h: Price | None


class Candle(Answer):
    start: int = Field(description="epoch seconds")
    open: Price
    high: Price
    low: Price
    close: Price
    volume: int
    trades: int


class Candles(Answer):
    symbol: str
    interval: str
    candles: list[Candle]


class SymbolStats(Answer):
    returns: int
    mean_return: float
    volatility: float
    last: Price


class Cointegration(Answer):
    statistic: Statistic
    p_value: Statistic
    critical_values: dict[str, float]


class Spread(Answer):
    intercept: float
    std: float
    last: float
    z_score: Statistic
    series: list[Point] | None = None


class PairStats(Answer):
    symbols: list[str] = Field(min_length=2, max_length=2)
    observations: int
    correlation: Statistic
    hedge_ratio: float
    cointegration: Cointegration
    spread: Spread


class Stats(Answer):
    interval: str
    window: int
    start: int
    end: int
    symbols: dict[str, SymbolStats]
    pairs: list[PairStats]
    conventions: dict[str, str]


class Trade(Answer):
    trade_id: str
    price: Price
    quantity: int
    time: int
    taker_side: Side
    sequence: int


class Trades(Answer):
    symbol: str
    trades: list[Trade]
    next_cursor: str | None


class WorkerHealth(Answer):
    status: Literal["ok", "stale", "missing"]
    last_heartbeat_ms: int | None
    age_s: float | None
    instances: int
    loops_s: dict[str, float]
    lag: dict[str, dict[str, int]] | None = Field(default=None, description="events behind the journal")


class Health(Answer):
    status: Literal["ok", "degraded"]
    service: str
    pid: int
    journal_faults: dict[str, str] | None = None
    unwell: list[str] | None = None
    stale_after_s: int | None = None
    journal: dict[str, int] | None = None
    workers: dict[str, WorkerHealth] | None = None


class Unavailable(RootModel[Health | ErrorBody]):
    """503: ``degraded`` (the health check's own answer), or a data store away (an error)."""


class Bot(Answer):
    bot_id: str
    name: str | None
    status: str
    step: int
    steps: int
    rule: dict[str, Any]
    last_action: dict[str, Any] | None
    actions_taken: int
    created: int
    updated: int


class Bots(Answer):
    bots: list[Bot]
    next_cursor: str | None


class LeaderboardRow(Answer):
    rank: int
    username: str
    house: bool
    value: Cash
    pnl: Cash
    cash: Cash | None = Field(default=None, description="the caller's own row only")
    shares: dict[str, int] | None = None


class Leaderboard(Answer):
    as_of: int
    prices: dict[str, Cash | None]
    accounts: int
    total_value: Cash
    total_starting_value: Cash
    leaderboard: list[LeaderboardRow]
    me: LeaderboardRow | None
