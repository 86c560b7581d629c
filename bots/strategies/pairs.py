"""Pairs (statistical arbitrage): trade the spread of a cointegrated pair back to its mean.

Each round reads ``GET /stats`` for its two symbols (A, the bot's own, and B):
the hedge ratio β of log A on log B, the Engle–Granger p-value and the spread's
z-score (ticker/stats.py). Only a pair whose p-value is below ``max_p_value``
is traded:

- the spread is rich (z ≥ ``entry_z``): sell A, buy B;
- the spread is cheap (z ≤ −``entry_z``): buy A, sell B;
- the spread is back (|z| ≤ ``exit_z``): unwind both legs to where the bot started.

A unit is ``order_size`` shares of A against β × the same notional of B
(log prices: a 1 % move of B moves A by β %). Its position is read from its
account each round, as shares of each symbol bought or sold since it started,
so fills it missed and the other leg are always counted. It never holds more
than ``max_position`` shares of A long or short. Orders are IOC limits at most
``slippage_bps`` through the last price: a leg that finds no one trades less.
"""
from __future__ import annotations

from dataclasses import dataclass

from bots.strategies.base import Strategy, StrategyConfig, must_back_off
from exchange.money import collar_down, collar_up, format_cents, parse_cents
from exchange_client import ApiError


@dataclass
class PairsConfig(StrategyConfig):
    other: str = ""  # B: the symbol it hedges with
    stats_interval: str = "1s"  # the width of one return in /stats
    window: int = 120  # intervals /stats looks at
    entry_z: float = 1.5
    exit_z: float = 0.3
    max_p_value: float = 0.10  # trade only a pair this cointegrated
    order_size: int = 3  # shares of A per round
    max_position: int = 15  # shares of A, long or short
    slippage_bps: int = 50


class PairsTrader(Strategy):
    kind = "pairs"
    config: PairsConfig

    start: dict[str, int] | None = None  # shares of each leg when it started
    last_signal: dict | None = None  # the last /stats pair it read (for the report)

    def decide(self) -> None:
        cfg = self.config
        a, b = self.symbol, cfg.other
        held = self._shares()
        if self.start is None:
            self.start = held
        position = {symbol: held[symbol] - self.start[symbol] for symbol in (a, b)}
        try:
            stats = self.api.stats([a, b], interval=cfg.stats_interval, window=cfg.window)
        except ApiError as error:
            if must_back_off(error):
                raise
            self.stats.errors[error.code] += 1  # insufficient_data, mostly: no trades yet
            return
        pair = stats["pairs"][0]
        self.last_signal = pair
        if pair["cointegration"]["p_value"] > cfg.max_p_value:
            return
        z = pair["spread"]["z_score"]
        if abs(z) <= cfg.exit_z and (position[a] or position[b]):
            self._trade(a, -position[a])
            self._trade(b, -position[b])
        elif abs(z) >= cfg.entry_z:
            direction = -1 if z > 0 else 1  # rich: sell A; cheap: buy A
            quantity = min(cfg.order_size, cfg.max_position - direction * position[a])
            if quantity > 0:
                last = {symbol: parse_cents(stats["symbols"][symbol]["last"]) for symbol in (a, b)}
                hedge = round(pair["hedge_ratio"] * quantity * last[a] / last[b])
                self._trade(a, direction * quantity)
                self._trade(b, -direction * hedge)

    def _shares(self) -> dict[str, int]:
        balances = self.api.account()["balances"]
        return {symbol: sum(balances.get(symbol, {}).get(kind, 0) for kind in ("available", "on_hold"))
                for symbol in (self.symbol, self.config.other)}

    def _trade(self, symbol: str, shares: int) -> None:
        """Buy (shares > 0) or sell an IOC limit ``slippage_bps`` through the last price."""
        if shares == 0:
            return
        side = "buy" if shares > 0 else "sell"
        last = self._last_price(symbol)
        if last is None:
            return
        limit = collar_up(last, self.config.slippage_bps) if side == "buy" else collar_down(last, self.config.slippage_bps)
        try:
            order = self.api.place_order(symbol, side, abs(shares), price=format_cents(limit), time_in_force="IOC")
        except ApiError as error:
            if must_back_off(error):
                raise
            self.stats.errors[error.code] += 1
            return
        self.stats.orders_placed += 1
        filled = order.get("filled_quantity", 0)
        if side == "buy":
            self.stats.bought += filled
        else:
            self.stats.sold += filled

    def _last_price(self, symbol: str) -> int | None:
        trades = self.api.trades(symbol, limit=1)
        return parse_cents(trades[0]["price"]) if trades else None

    def shutdown(self) -> None:
        """Nothing to cancel: IOC orders leave nothing open. The position stays as it is (the
        leaderboard values it)."""
