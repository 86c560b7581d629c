"""Mean-reversion trader: bets that the price returns to its moving average.

Each round reads the last ``window`` trade prices. When the last price is above
the average by more than ``band_bps`` it sells, below by more than that it
buys: ``order_size`` shares with an IOC order at most ``slippage_bps`` from the
last price, never beyond ``max_position`` shares long or short of where it
started. The band test is done in integers (price × count vs sum).
"""
from __future__ import annotations

from dataclasses import dataclass

from bots.strategies.base import SignalConfig, SignalTrader


@dataclass
class MeanReversionConfig(SignalConfig):
    # A market maker's spread is typically 10-40 bps; a band inside it lets the
    # trader lean against the bid-ask bounce as well as against real moves.
    window: int = 8
    band_bps: int = 8


class MeanReversionTrader(SignalTrader):
    kind = "mean_reversion"
    config: MeanReversionConfig

    @property
    def lookback(self) -> int:
        return self.config.window

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
