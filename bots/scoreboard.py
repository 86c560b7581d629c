"""Mark-to-market valuation of accounts, in integer cents.

A value is cash (available + on hold) plus, for each symbol, shares (available
+ on hold) × the symbol's last trade price. A symbol that never traded has no
price, and its shares count for nothing, in the value and the starting value
alike, so P&L is unaffected. Starting value is the account as it began (cash
and shares before the first order), marked at the same last prices.
"""
from __future__ import annotations

from dataclasses import dataclass

from exchange.money import format_cents, parse_cash

CASH_ASSET = "USD"


@dataclass(frozen=True)
class Holdings:
    cash: int  # cents
    shares: dict[str, int]

    @classmethod
    def from_balances(cls, balances: dict) -> "Holdings":
        """From GET /account's ``balances``: {"USD": {"available": "1.00", "on_hold": "0.00"}, SYM: {...}}."""
        cash = sum(parse_cash(amount) for amount in balances.get(CASH_ASSET, {}).values())
        shares = {asset: sum(int(q) for q in amounts.values())
                  for asset, amounts in balances.items() if asset != CASH_ASSET}
        return cls(cash, shares)

    def value(self, last_prices: dict[str, int | None]) -> int:
        return self.cash + sum(quantity * (last_prices.get(symbol) or 0) for symbol, quantity in self.shares.items())


@dataclass(frozen=True)
class Standing:
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


def rank(standings: list[Standing]) -> list[Standing]:
    """Highest value first; ties by name so the order is stable."""
    return sorted(standings, key=lambda s: (-s.value, s.username))
