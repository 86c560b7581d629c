"""Mark-to-market valuation, in integer cents: one rule for the leaderboard and the bots.

A value is cash (available + on hold) plus, for each symbol, shares (available +
on hold) × the symbol's last trade price. A symbol that never traded has no price
and its shares count for nothing, in a value and a starting value alike, so P&L
is unaffected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from exchange.money import CASH_LABEL, parse_cash


@dataclass(frozen=True)
class Holdings:
    cash: int = 0                                   # cents
    shares: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_balances(cls, balances: dict) -> "Holdings":
        """From GET /account's ``balances``: {"USD": {"available": "1.00", "on_hold": "0.00"}, SYM: {...}}."""
        cash = sum(parse_cash(amount) for amount in balances.get(CASH_LABEL, {}).values())
        shares = {asset: sum(int(q) for q in amounts.values())
                  for asset, amounts in balances.items() if asset != CASH_LABEL}
        return cls(cash, shares)

    def value(self, prices: Mapping[str, int | None]) -> int:
        return self.cash + sum(quantity * (prices.get(symbol) or 0) for symbol, quantity in self.shares.items())


def market_value(holdings: Holdings, prices: Mapping[str, int | None]) -> int:
    return holdings.value(prices)
