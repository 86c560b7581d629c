"""Momentum trader: follows the trend of recent trade prices.

Each round reads the last ``long_window`` trade prices. When the short moving
average is above the long one by more than ``threshold_bps`` it buys, when
below it sells, each time ``order_size`` shares with an IOC order at most
``slippage_bps`` away from the last price, and never beyond ``max_position``
shares long or short of where it started. Averages are compared in integers
(sum × count), never as floats.
"""
from __future__ import annotations

from dataclasses import dataclass

from bots.strategies.base import SignalConfig, SignalTrader


@dataclass
class MomentumConfig(SignalConfig):
    short_window: int = 2
    long_window: int = 6
    threshold_bps: int = 5


class MomentumTrader(SignalTrader):
    kind = "momentum"
    config: MomentumConfig

    @property
    def lookback(self) -> int:
        return self.config.long_window

    def signal(self, prices: list[int]) -> str | None:
        """"buy" on an up trend, "sell" on a down trend, None when flat or with too few trades."""
        cfg = self.config
        if len(prices) < cfg.long_window:
            return None
        short, long = prices[-cfg.short_window:], prices[-cfg.long_window:]
        # short_avg vs long_avg × (1 ± threshold), all multiplied through by the denominators
        short_scaled = sum(short) * len(long) * 10_000
        long_scaled = sum(long) * len(short)
        if short_scaled > long_scaled * (10_000 + cfg.threshold_bps):
            return "buy"
        if short_scaled < long_scaled * (10_000 - cfg.threshold_bps):
            return "sell"
        return None
