"""Random-walk noise trader: its own fair value wanders; it trades around it.

Each round moves the fair value by a random number of ticks (seeded RNG), plus a
small pull towards the market's reference price so a swarm of them stays near
one market (a bot that knows the fundamental value, ``--factor``, walks from it
afresh each round instead). Then, with probability ``market_order_pct`` percent, it sends a
small market order on a random side; otherwise a limit order on a random side
priced around its fair value (sometimes through it, so it also takes). It keeps
at most ``max_open_orders`` resting, canceling the oldest first.
"""
from __future__ import annotations

from dataclasses import dataclass

from bots.strategies.base import Strategy, StrategyConfig


@dataclass
class RandomWalkConfig(StrategyConfig):
    fair_value: int = 10_000  # ticks: where the walk starts when the market has no price yet
    walk_ticks: int = 10  # the walk's move is uniform in [-walk_ticks, walk_ticks]
    pull_pct: int = 10  # each round moves this percentage of the way to the market's reference
    order_offset_ticks: int = 20  # a limit buy rests up to this far below the fair value (a sell above)
    cross_ticks: int = 20  # ... and may be priced up to this far through it
    max_quantity: int = 5
    market_order_pct: int = 20
    max_open_orders: int = 4


class RandomWalkTrader(Strategy):
    kind = "random_walk"
    config: RandomWalkConfig

    fair: int | None = None

    def decide(self) -> None:
        cfg = self.config
        reference = self.reference_price(cfg.fair_value)
        self.walk(reference)
        side = self.rng.choice(("buy", "sell"))
        quantity = self.rng.randint(1, cfg.max_quantity)
        if self.rng.randrange(100) < cfg.market_order_pct:
            self.place(side, quantity, type="market", time_in_force="IOC")
        else:
            self.place(side, quantity, self.limit_price(side))
        self.sync_working()
        while len(self.working) > cfg.max_open_orders:
            self.cancel_order(next(iter(self.working)))  # the oldest: dicts keep insertion order

    def walk(self, reference: int) -> int:
        cfg = self.config
        if self.fair is None or self.fundamental is not None:  # a known value is followed, not pulled at
            self.fair = reference
        pull = (reference - self.fair) * cfg.pull_pct // 100
        self.fair = max(1, self.fair + self.rng.randint(-cfg.walk_ticks, cfg.walk_ticks) + pull)
        return self.fair

    def limit_price(self, side: str) -> int:
        offset = self.rng.randint(-self.config.cross_ticks, self.config.order_offset_ticks)
        return max(1, self.fair - offset if side == "buy" else self.fair + offset)
