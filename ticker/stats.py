"""Return statistics and pair tests over candles: pure (candles in, numbers out), with numpy and statsmodels.

Each symbol's price series is its candles' closes on one grid of interval
starts, the same grid for every symbol, so pairs compare the same moments. An
interval with no trade keeps the previous close (a return of 0); the slots
before a symbol's first trade in the window have no price and are left out.

Conventions (also in each answer's ``conventions``):
- returns are log returns between consecutive closes;
- ``mean_return`` is their mean per interval;
- ``volatility`` is their sample standard deviation (ddof=1) times the square
  root of the intervals in a 365-day year: the market never closes;
- the hedge ratio is β of the OLS fit log(A) = α + β·log(B), and the
  cointegration test is Engle–Granger (``statsmodels.tsa.stattools.coint``) on
  the same log prices, A on B; the spread is that fit's residual, and its
  ``z_score`` is the last residual over their standard deviation (ddof=1).

The figures are floats: they are statistics, not money (prices stay integer ticks).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from ticker.candles import Candle

SECONDS_PER_YEAR = 365 * 24 * 3600
MIN_RETURNS = 2  # a symbol's volatility needs two returns (three prices)
MIN_PAIR_PRICES = 20  # a pair's correlation, hedge ratio and cointegration test need this many common prices
CONVENTIONS = {
    "returns": "log returns of consecutive interval closes; an interval without trades keeps the last close",
    "mean_return": "mean log return per interval",
    "volatility": "sample standard deviation (ddof=1) of log returns x sqrt(intervals per 365-day year)",
    "hedge_ratio": "beta of the OLS fit log(A) = alpha + beta * log(B)",
    "cointegration": "Engle-Granger test (statsmodels coint) of log(A) on log(B); null: no cointegration",
    "spread": "the residual log(A) - alpha - beta * log(B); z_score = last residual / their std (ddof=1)",
}


class InsufficientData(ValueError):
    """Too few prices for a figure; the message names what is missing."""


@dataclass(frozen=True)
class Grid:
    """The interval starts a window covers: ``count`` of them, the last one at ``last_start``."""

    interval_s: int
    last_start: int
    count: int

    @property
    def first_start(self) -> int:
        return self.last_start - (self.count - 1) * self.interval_s

    def closes(self, candles: list[Candle]) -> list[int | None]:
        """Each slot's close (ticks), carried forward over slots without trades; None before the first."""
        by_start = {candle.start: candle.close for candle in candles}
        closes: list[int | None] = []
        last = None
        for n in range(self.count):
            last = by_start.get(self.first_start + n * self.interval_s, last)
            closes.append(last)
        return closes


def symbol_stats(symbol: str, closes: list[int | None], interval_s: int) -> dict:
    """``{returns, mean_return, volatility, last}`` for one symbol's closes (``last`` in ticks)."""
    prices = [c for c in closes if c is not None]  # ticks: only their logs are floats
    if len(prices) < MIN_RETURNS + 1:
        raise InsufficientData(f"{symbol}: {len(prices)} interval closes in the window, "
                               f"{MIN_RETURNS + 1} needed for its volatility")
    returns = np.diff(np.log(np.array(prices, dtype=float)))
    return {"returns": len(returns), "mean_return": float(returns.mean()),
            "volatility": float(returns.std(ddof=1) * math.sqrt(SECONDS_PER_YEAR / interval_s)),
            "last": prices[-1]}


def pair_stats(a: str, b: str, closes_a: list[int | None], closes_b: list[int | None],
               starts: list[int] | None = None) -> dict:
    """Correlation of log returns, hedge ratio, Engle–Granger test and the spread (the fit's residual,
    its last value as a z-score) of one pair, on the slots where both have a price. With the slots'
    ``starts``, the spread's series too, as [[start, value], ...]."""
    from statsmodels.api import OLS, add_constant  # heavy imports: paid on the first /stats only
    from statsmodels.tsa.stattools import coint

    slots = [n for n, (x, y) in enumerate(zip(closes_a, closes_b)) if x is not None and y is not None]
    both = [(closes_a[n], closes_b[n]) for n in slots]
    if len(both) < MIN_PAIR_PRICES:
        raise InsufficientData(f"{a}/{b}: {len(both)} interval closes where both have a price, "
                               f"{MIN_PAIR_PRICES} needed for the pair's figures")
    log_a, log_b = np.log(np.array(both, dtype=float)).T
    still = [name for name, series in ((a, log_a), (b, log_b)) if np.ptp(series) == 0]
    if still:
        raise InsufficientData(f"{a}/{b}: the price of {', '.join(still)} did not move in the window")
    fit = OLS(log_a, add_constant(log_b)).fit()
    statistic, p_value, critical = coint(log_a, log_b)
    spread = fit.resid
    figures: dict[str, Any] = {"symbols": [a, b], "observations": len(both),
               "correlation": float(np.corrcoef(np.diff(log_a), np.diff(log_b))[0, 1]),
               "hedge_ratio": float(fit.params[1]),
               "cointegration": {"statistic": float(statistic), "p_value": float(p_value),
                                 "critical_values": dict(zip(("1%", "5%", "10%"), map(float, critical)))},
               "spread": {"intercept": float(fit.params[0]), "std": float(spread.std(ddof=1)),
                          "last": float(spread[-1]), "z_score": float(spread[-1] / spread.std(ddof=1))}}
    if starts is not None:
        figures["spread"]["series"] = [[starts[n], float(value)] for n, value in zip(slots, spread)]
    return figures


def window_stats(candles_by_symbol: dict[str, list[Candle]], grid: Grid, *, series: bool = False) -> dict:
    """Every symbol's figures, then every pair's (in the order the symbols were given); with
    ``series``, each pair's spread series too."""
    closes = {symbol: grid.closes(candles) for symbol, candles in candles_by_symbol.items()}
    starts = [grid.first_start + n * grid.interval_s for n in range(grid.count)] if series else None
    return {"symbols": {symbol: symbol_stats(symbol, prices, grid.interval_s) for symbol, prices in closes.items()},
            "pairs": [pair_stats(a, b, closes[a], closes[b], starts) for a, b in combinations(closes, 2)]}
