"""The swarm's scores: one row per bot (its kind, symbol, value and P&L), valued by ``exchange.valuation`` in integer cents.

Starting value is the account as it began (cash and shares before the first
order), marked at the same last prices as its value.
"""
from __future__ import annotations

from dataclasses import dataclass

from exchange.money import format_cents


@dataclass(frozen=True)
class BotScore:
    username: str
    kind: str
    symbol: str
    value: int
    start_value: int

    @property
    def pnl(self) -> int:
        return self.value - self.start_value

    def as_dict(self) -> dict:
        return {"username": self.username, "kind": self.kind, "symbol": self.symbol,
                "value": format_cents(self.value), "start_value": format_cents(self.start_value),
                "pnl": format_cents(self.pnl)}


def rank(standings: list[BotScore]) -> list[BotScore]:
    """Highest value first; ties by name so the order is stable."""
    return sorted(standings, key=lambda s: (-s.value, s.username))
