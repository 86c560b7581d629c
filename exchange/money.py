"""Money and prices as integers.

Prices are integer ticks and cash is integer cents; with the default tick of
$0.01 one tick is one cent. The API speaks decimal strings ("12.34"); this
module is the only place that turns them into integers and back, and it never
rounds: a string with more precision than a cent is an error.
"""
from __future__ import annotations

import re

CASH = "cash"  # cash's asset name in live accounts, holds and the ledger of record
CASH_LABEL = "USD"  # cash's name where the API shows balances (GET /account)
CENTS_PER_DOLLAR = 100
MAX_CENTS = 10**13  # $100bn: far inside 2^53, so scores and Lua numbers stay exact

_DECIMAL = re.compile(r"^(\d{1,11})(?:\.(\d{1,2}))?$")


class MoneyError(ValueError):
    """A money string that is not an exact, positive amount of cents."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def parse_cents(text: object, *, field: str = "price", allow_zero: bool = False) -> int:
    """'12.34' -> 1234. Rejects floats, exponents, signs and sub-cent precision."""
    if not isinstance(text, str):
        raise MoneyError(f"invalid_{field}", f"{field} must be a decimal string like \"12.34\"")
    match = _DECIMAL.match(text)
    if match is None:
        if re.match(r"^\d+\.\d{3,}$", text):
            raise MoneyError(f"invalid_{field}", f"{field} {text!r} is finer than the $0.01 tick")
        raise MoneyError(f"invalid_{field}", f"{field} {text!r} is not a decimal string like \"12.34\"")
    whole, frac = match.group(1), match.group(2) or ""
    cents = int(whole) * CENTS_PER_DOLLAR + int(frac.ljust(2, "0"))
    if cents == 0 and not allow_zero:
        raise MoneyError(f"invalid_{field}", f"{field} must be greater than zero")
    if cents > MAX_CENTS:
        raise MoneyError(f"invalid_{field}", f"{field} {text!r} is too large")
    return cents


def parse_cash(text: str) -> int:
    return parse_cents(text, field="cash", allow_zero=True)


def format_cents(cents: int) -> str:
    """1234 -> '12.34'; -5 -> '-0.05'."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), CENTS_PER_DOLLAR)
    return f"{sign}{whole}.{frac:02d}"


def format_price(ticks: int | None) -> str | None:
    """A price in ticks as the API and the live feed show it ("12.34"); None stays None."""
    return None if ticks is None else format_cents(ticks)


def collar_up(ticks: int, bps: int) -> int:
    """ticks × (1 + bps/10000), rounded up to a whole tick, in integers."""
    return -(-ticks * (10_000 + bps) // 10_000)


def collar_down(ticks: int, bps: int) -> int:
    """ticks × (1 − bps/10000), rounded down, never below one tick."""
    return max(1, ticks * (10_000 - bps) // 10_000)


def price_band(reference: int, bps: int) -> tuple[int, int]:
    """The lowest and highest prices within ``bps`` of ``reference`` (ticks), both included."""
    return max(1, -(-reference * (10_000 - bps) // 10_000)), reference * (10_000 + bps) // 10_000


# ---- fees and holds ------------------------------------------------------------------
# A fill's fee is floor(price × quantity × bps / 10000) cents. A buy order holds
# its notional at its hold price (limit, or a market order's collar) plus a fee
# reserve at the higher of its two fee rates. Both are exact integers, and a
# buy hold always covers what its fills can cost: a sum of floors never exceeds
# the floor of the sum.

BPS = 10_000


def fee(price: int, quantity: int, bps: int) -> int:
    return price * quantity * bps // BPS


def buy_hold(hold_price: int, quantity: int, reserve_bps: int) -> int:
    """Cash a buy order of ``quantity`` still needs: notional plus fee reserve."""
    notional = hold_price * quantity
    return notional + notional * reserve_bps // BPS


def hold_needed(side: str, hold_price: int | None, quantity: int, reserve_bps: int) -> int:
    """What an order with ``quantity`` left to trade holds: cents for a buy, shares for a sell."""
    if side != "buy":
        return quantity
    if hold_price is None:
        raise ValueError("a buy order's hold needs its limit price or its collar")
    return buy_hold(hold_price, quantity, reserve_bps)
