"""Mean-reversion trader: bets that the price returns to its moving average.

Each step reads the last ``window`` trade prices. When the last price is above
the average by more than ``band_bps`` it sells, below by more than that it
buys: ``order_size`` shares with an IOC order at most ``slippage_bps`` from the
last price, never beyond ``max_position`` shares long or short of where it
started. The band test is done in integers (price × count vs sum).
"""
from __future__ import annotations

from dataclasses import dataclass

from bots.strategies.base import Strategy, StrategyConfig


@dataclass
class MeanReversionConfig(StrategyConfig):
    # A market maker's spread is typically 10-40 bps; a band inside it lets the
    # trader lean against the bid-ask bounce as well as against real moves.
    window: int = 8
    band_bps: int = 8
    order_size: int = 3
    max_position: int = 30
    slippage_bps: int = 50


class MeanReversionTrader(Strategy):
    kind = "mean_reversion"
    config: MeanReversionConfig

    def decide(self) -> None:
        self.sync_working()
        prices = self.recent_prices(self.config.window)
        side = self.signal(prices)
        if side is None:
            return
        cfg = self.config
        quantity = min(cfg.order_size, self.room(side, cfg.max_position))
        if quantity > 0:
            self.take(side, quantity, prices[-1], cfg.slippage_bps)

    def signal(self, prices: list[int]) -> str | None:
        """"sell" above the band, "buy" below it, None inside it or with too few trades."""
        cfg = self.config
        if len(prices) < cfg.window:
            return None
        last_scaled = prices[-1] * len(prices) * 10_000
        total = sum(prices)
        if last_scaled > total * (10_000 + cfg.band_bps):
            return "sell"
        if last_scaled < total * (10_000 - cfg.band_bps):
            return "buy"
        return None
