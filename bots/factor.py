"""Fundamental values that co-move: one shared random factor plus each symbol's own part.

``python -m bots swarm --factor`` gives every bot of the swarm this model's value
for its symbol as the reference it trades around (``Strategy.fundamental``), so
the market prices follow the values and the symbols co-move.

Each step (``step_s``) the factor takes a normal step of ``factor_bps`` and each
symbol's own part one of ``own_bps``; a symbol's log value is its start value's
log plus ``loading × factor + own``. A symbol whose own part reverts (it gives
back ``reversion_pct`` percent of it each step) is stationary around the factor,
so any two such symbols cointegrate: log A − (β_A/β_B)·log B is stationary. A
symbol whose own part does not revert is a random walk apart from the factor,
and cointegrates with no one.

The model is statistics, not money: it computes in floats and gives each value
rounded to whole ticks, which is all a bot ever sends.
"""
from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from itertools import combinations
from typing import Callable


@dataclass(frozen=True)
class SymbolFactor:
    loading: float = 1.0  # β: how much of the factor's move the symbol takes
    reverting: bool = True  # whether its own part is stationary (False: a random walk of its own)


@dataclass(frozen=True)
class FactorConfig:
    symbols: dict[str, SymbolFactor] = field(default_factory=dict)
    # The factor's step: standard deviation, in basis points of value. A minute of steps moves a value
    # by about 1.9 %, well inside the circuit breaker's 5 % (HALT_MOVE_BPS), which would halt the swarm.
    factor_bps: float = 25.0
    own_bps: float = 10.0  # each symbol's own step
    reversion_pct: float = 20.0  # how much of its own part a reverting symbol gives back each step
    step_s: float = 1.0

    def cointegrated(self, a: str, b: str) -> bool:
        """Whether the model makes the two cointegrate: both own parts revert."""
        return self.symbols[a].reverting and self.symbols[b].reverting

    def correlation(self, a: str, b: str) -> float:
        """The model's correlation of the two symbols' one-step log returns. A reverting own part
        adds to a step's variance as much as a random walk's does, on average, once it has settled:
        var(Δown) = σ²·2/(2 − r) for reversion r."""
        def own_variance(symbol: str) -> float:
            r = self.reversion_pct / 100 if self.symbols[symbol].reverting else 0.0
            return self.own_bps ** 2 * 2 / (2 - r)
        beta_a, beta_b = self.symbols[a].loading, self.symbols[b].loading
        shared = beta_a * beta_b * self.factor_bps ** 2
        return shared / math.sqrt((beta_a ** 2 * self.factor_bps ** 2 + own_variance(a))
                                  * (beta_b ** 2 * self.factor_bps ** 2 + own_variance(b)))


def pairs_in_order(symbols: list[str], factor: FactorConfig | None) -> list[tuple[str, str]]:
    """Every pair of symbols, the cointegrated ones (under ``factor``) first."""
    pairs = list(combinations(symbols, 2))
    return sorted(pairs, key=lambda pair: not factor.cointegrated(*pair)) if factor is not None else pairs


def default_factor(symbols: list[str]) -> FactorConfig:
    """Loadings 1.0, 0.8, 1.2, ... in turn; every symbol's own part reverts but the last one's, so
    the pairs of the others cointegrate and the pairs with the last do not (with two symbols or
    fewer, every one reverts)."""
    loadings = (1.0, 0.8, 1.2, 0.9, 1.1)
    walker = symbols[-1] if len(symbols) > 2 else None
    return FactorConfig({symbol: SymbolFactor(loadings[n % len(loadings)], symbol != walker)
                         for n, symbol in enumerate(symbols)})


def parse_loadings(text: str, symbols: list[str]) -> FactorConfig:
    """``KRYP=1.0,ADAM=0.8,PUPS=1.2~`` (a trailing ~ makes that symbol's own part a random walk);
    a symbol left out takes the default's."""
    base = default_factor(symbols).symbols
    given = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        symbol, _, loading = item.partition("=")
        symbol = symbol.strip().upper()
        if symbol not in base or not loading:
            raise ValueError(f"--loadings: {item!r} is not SYMBOL=LOADING for a listed symbol")
        given[symbol] = SymbolFactor(float(loading.rstrip("~")), not loading.endswith("~"))
    return FactorConfig({symbol: given.get(symbol, base[symbol]) for symbol in symbols})


class FactorModel:
    """The values as time goes by, shared by the swarm's bot threads (each step is taken once)."""

    def __init__(self, config: FactorConfig, start_values: dict[str, int], *, seed: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.start_log = {symbol: math.log(value) for symbol, value in start_values.items()}
        self.rng = random.Random(seed)
        self.clock = clock
        self.started = clock()
        self.steps = 0
        self.factor = 0.0
        self.own = dict.fromkeys(config.symbols, 0.0)
        self.lock = threading.Lock()

    def value(self, symbol: str) -> int:
        """The symbol's value now, in ticks (at least 1)."""
        with self.lock:
            due = int((self.clock() - self.started) / self.config.step_s)
            while self.steps < due:
                self._step()
            log_value = self.start_log[symbol] + self.config.symbols[symbol].loading * self.factor + self.own[symbol]
        return max(1, round(math.exp(log_value)))

    def _step(self) -> None:
        cfg = self.config
        self.factor += self.rng.gauss(0.0, cfg.factor_bps / 10_000)
        for symbol, setting in cfg.symbols.items():
            kept = 1 - cfg.reversion_pct / 100 if setting.reverting else 1.0
            self.own[symbol] = kept * self.own[symbol] + self.rng.gauss(0.0, cfg.own_bps / 10_000)
        self.steps += 1

    def fundamental(self, symbol: str) -> Callable[[], int]:
        """What a bot of ``symbol`` reads as its reference."""
        return lambda: self.value(symbol)
