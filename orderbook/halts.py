"""The circuit breaker's window of prices, pure.

A symbol halts when its last price moves more than HALT_MOVE_BPS from any price it
traded at within HALT_WINDOW_S (``PriceWindow.moved``), or when an operator halts
it. The matcher journals ``halted`` and ``resumed`` events in order with the
trades; ``exchange.trading_status.TradingStatus`` is what they leave.
"""
from __future__ import annotations

from collections import deque


class PriceWindow:
    """The lowest and highest trade prices of the last ``window_ms``, in amortized O(1) a trade
    (a monotonic deque per side: each price enters and leaves each deque once)."""

    def __init__(self, window_ms: int):
        self.window_ms = window_ms
        self._lows: deque[tuple[int, int]] = deque()  # (time, price), prices rising
        self._highs: deque[tuple[int, int]] = deque()  # (time, price), prices falling

    def add(self, time_ms: int, price: int) -> None:
        while self._lows and self._lows[-1][1] >= price:
            self._lows.pop()
        self._lows.append((time_ms, price))
        while self._highs and self._highs[-1][1] <= price:
            self._highs.pop()
        self._highs.append((time_ms, price))
        self._expire(time_ms)

    def moved(self, now_ms: int, price: int, move_bps: int) -> bool:
        """Whether ``price``, traded at ``now_ms``, is more than ``move_bps`` from a price traded
        within the window before it."""
        self._expire(now_ms)
        if not self._lows:
            return False
        low, high = self._lows[0][1], self._highs[0][1]
        return price * 10_000 > low * (10_000 + move_bps) or price * 10_000 < high * (10_000 - move_bps)

    def clear(self) -> None:
        self._lows.clear()
        self._highs.clear()

    def _expire(self, now_ms: int) -> None:
        oldest = now_ms - self.window_ms
        for prices in (self._lows, self._highs):
            while prices and prices[0][0] < oldest:
                prices.popleft()
