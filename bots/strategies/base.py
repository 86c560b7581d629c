"""What every strategy shares: one decision round per ``play_round()``, error handling, own-order tracking.

A strategy trades one symbol through an ``ExchangeClient`` (or anything with the
same methods, such as a test's fake). Prices are integer ticks inside; they
become decimal strings only when an order is sent.

Errors never escape ``play_round()``. An order the exchange refuses for this order
alone (``insufficient_funds``, ``no_liquidity``, a post-only cross, ...) is
counted and skipped. A sign that the exchange is overloaded or unreachable
(``rate_limited``, ``busy``, a network error, a 5xx) ends the round and makes
the bot sit out the next rounds for an exponentially growing pause.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from exchange.money import collar_down, collar_up, format_cents, parse_cents
from exchange_client import ApiError

BACK_OFF_CODES = frozenset({"rate_limited", "busy", "connection_error"})
BATCH_ORDERS = 20  # the most orders one POST /orders/batch takes
FINAL_STATUSES = frozenset({"filled", "canceled", "rejected"})
SIGN = {"buy": 1, "sell": -1}


def must_back_off(error: ApiError) -> bool:
    return error.code in BACK_OFF_CODES or error.status == 0 or error.status >= 500


@dataclass
class BotStats:
    rounds: int = 0
    orders_placed: int = 0
    orders_canceled: int = 0
    bought: int = 0  # shares this bot's orders bought / sold, as far as it has seen
    sold: int = 0
    errors: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"rounds": self.rounds, "orders_placed": self.orders_placed, "orders_canceled": self.orders_canceled,
                "bought": self.bought, "sold": self.sold, "errors": dict(self.errors)}


@dataclass
class StrategyConfig:
    interval_s: float = 1.0  # pause between two rounds (the swarm's pacing)
    min_backoff_s: float = 0.5
    max_backoff_s: float = 10.0


class Strategy:
    """Subclasses implement ``decide()``: one round of reading the market and placing or canceling orders."""

    kind = "strategy"

    def __init__(self, api, symbol: str, config: StrategyConfig, *, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.api = api
        self.symbol = symbol
        self.config = config
        self.rng = rng or random.Random()
        self.clock = clock
        self.stats = BotStats()
        self.position = 0  # shares bought minus shares sold since the bot started
        self.working: dict[str, tuple[str, int]] = {}  # order id -> (side, filled quantity counted so far)
        self.backoff_s = 0.0
        self.backoff_until = 0.0
        # A value the bot knows (bots/factor.py): its reference instead of the book's, when set.
        self.fundamental: Callable[[], int] | None = None

    # ---- the round ----------------------------------------------------------------------

    def play_round(self) -> bool:
        """One decision round; False when the bot is still backing off and did nothing."""
        now = self.clock()
        if now < self.backoff_until:
            return False
        self.stats.rounds += 1
        try:
            self.decide()
        except ApiError as error:
            self.stats.errors[error.code] += 1
            if must_back_off(error):
                self.backoff_s = min(self.config.max_backoff_s, max(self.config.min_backoff_s, 2 * self.backoff_s))
                self.backoff_until = now + self.backoff_s
        else:
            self.backoff_s = 0.0
        return True

    def decide(self) -> None:
        raise NotImplementedError

    # ---- orders -------------------------------------------------------------------------

    def place(self, side: str, quantity: int, price: int | None = None, *, type: str = "limit",
              time_in_force: str = "GTC", post_only: bool = False) -> dict | None:
        """Send one order; None if the exchange refused it for reasons of its own (counted in stats)."""
        try:
            order = self.api.place_order(self.symbol, side, quantity, type=type,
                                            price=None if price is None else format_cents(price),
                                            time_in_force=time_in_force, post_only=post_only)
        except ApiError as error:
            if must_back_off(error):
                raise
            self.stats.errors[error.code] += 1
            return None
        self.stats.orders_placed += 1
        self.working[order["order_id"]] = (side, 0)
        self.track(order)
        return order

    def place_all(self, quotes: list[tuple[str, int, int]], *, post_only: bool = False) -> list[dict]:
        """Send GTC limit orders, (side, quantity, price ticks) each, in batches of BATCH_ORDERS;
        the orders placed. A refusal of one order is counted and skipped, as in ``place``; a sign
        of overload (``rate_limited``, ``busy``) ends the round once what was placed is tracked."""
        placed, overload = [], None
        for first in range(0, len(quotes), BATCH_ORDERS):
            if overload is not None:
                break
            bodies = [{"symbol": self.symbol, "side": side, "type": "limit", "quantity": quantity,
                       "price": format_cents(price), "time_in_force": "GTC", "post_only": post_only}
                      for side, quantity, price in quotes[first:first + BATCH_ORDERS]]
            for body, answer in zip(bodies, self.api.place_orders(bodies)):
                error = answer.get("error")
                if error is not None and error["code"] in BACK_OFF_CODES:
                    overload = overload or ApiError(200, error["code"], error["message"])  # answered in a 200
                elif error is not None:
                    self.stats.errors[error["code"]] += 1
                if error is not None:
                    continue
                self.stats.orders_placed += 1
                self.working[answer["order_id"]] = (body["side"], 0)  # a pending answer shows no side
                self.track(answer)
                placed.append(answer)
        if overload is not None:
            raise overload
        return placed

    def track(self, order: dict) -> None:
        """Count the new fills of one of our orders (from any reply that shows its state)."""
        entry = self.working.get(order["order_id"])
        if entry is None:
            return
        side, counted = entry
        filled = order.get("filled_quantity", counted)
        if filled > counted:
            self.position += SIGN[side] * (filled - counted)
            if side == "buy":
                self.stats.bought += filled - counted
            else:
                self.stats.sold += filled - counted
        if order.get("status") in FINAL_STATUSES:
            del self.working[order["order_id"]]
        else:
            self.working[order["order_id"]] = (side, max(filled, counted))

    def cancel_working(self, *, always: bool = False) -> None:
        """Cancel every open order of ours on the symbol and count what filled before the cancel."""
        if not self.working and not always:
            return
        canceled = self.api.cancel_all(self.symbol).get("canceled", [])
        self.stats.orders_canceled += len(canceled)
        for order in canceled:
            self.track(order)
        self.sync_working(still_open={})  # nothing is open now: read what filled before the cancel

    def sync_working(self, still_open: dict[str, dict] | None = None) -> None:
        """Bring our working orders up to date: one list of open orders, then a read of each that left it."""
        if not self.working:
            return
        if still_open is None:
            still_open = {order["order_id"]: order for order in self.api.open_orders(self.symbol)}
        for order_id in list(self.working):
            if order_id in still_open:
                self.track(still_open[order_id])
                continue
            try:
                self.track(self.api.order(order_id))
            except ApiError as error:
                if error.code != "not_found":
                    raise
                del self.working[order_id]

    def room(self, side: str, max_position: int) -> int:
        """How many shares this bot may still buy (or sell) before its position passes ±max_position."""
        return max_position - self.position if side == "buy" else max_position + self.position

    def take(self, side: str, quantity: int, last: int, slippage_bps: int) -> dict | None:
        """An IOC limit order that trades now at up to ``slippage_bps`` worse than ``last``, if anyone is there."""
        limit = collar_up(last, slippage_bps) if side == "buy" else collar_down(last, slippage_bps)
        return self.place(side, quantity, limit, time_in_force="IOC")

    def cancel_order(self, order_id: str) -> None:
        try:
            order = self.api.cancel_order(order_id)
        except ApiError as error:
            if error.code not in ("order_not_open", "not_found"):
                raise
            order = self.api.order(order_id) if error.code == "order_not_open" else None
            if order is None:
                self.working.pop(order_id, None)
                return
        else:
            self.stats.orders_canceled += 1
        self.track(order)

    def shutdown(self) -> None:
        """Cancel what is still open; the swarm calls it once the bot's thread has stopped."""
        self.cancel_working(always=True)

    # ---- market data --------------------------------------------------------------------

    def recent_prices(self, count: int) -> list[int]:
        """The last ``count`` trade prices, oldest first."""
        return [parse_cents(t["price"]) for t in reversed(self.api.trades(self.symbol, limit=count))]

    def reference_price(self, fair_value: int, max_spread_bps: int = 500, book: dict | None = None) -> int:
        """The fundamental value if the bot knows one; else the mid of the book when it is tight enough,
        else the last trade, else ``fair_value`` (ticks)."""
        if self.fundamental is not None:
            return self.fundamental()
        book = book if book is not None else self.api.book(self.symbol, depth=1)
        mid = book_mid(book, max_spread_bps)
        if mid is not None:
            return mid
        last = self.recent_prices(1)
        return last[-1] if last else fair_value


@dataclass
class SignalConfig(StrategyConfig):
    order_size: int = 3
    max_position: int = 30
    slippage_bps: int = 50


class SignalTrader(Strategy):
    """Reads the last ``lookback`` trade prices; when ``signal()`` names a side, takes
    ``order_size`` shares of it with an IOC order at most ``slippage_bps`` from the last
    price, never beyond ``max_position`` shares long or short of where it started."""

    config: SignalConfig

    @property
    def lookback(self) -> int:
        raise NotImplementedError

    def signal(self, prices: list[int]) -> str | None:
        raise NotImplementedError

    def decide(self) -> None:
        self.sync_working()
        prices = self.recent_prices(self.lookback)
        side = self.signal(prices)
        if side is None:
            return
        quantity = min(self.config.order_size, self.room(side, self.config.max_position))
        if quantity > 0:
            self.take(side, quantity, prices[-1], self.config.slippage_bps)


def best(levels: list) -> int | None:
    return parse_cents(levels[0][0]) if levels else None


def book_mid(book: dict, max_spread_bps: int) -> int | None:
    """(best bid + best ask) // 2 in ticks, or None if a side is empty or the spread is wider than allowed."""
    bid, ask = best(book.get("bids", [])), best(book.get("asks", []))
    if bid is None or ask is None or ask < bid:
        return None
    mid = (bid + ask) // 2
    if (ask - bid) * 10_000 > max_spread_bps * mid:
        return None
    return mid
