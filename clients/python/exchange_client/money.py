"""Decimal price and cash strings to integer cents and back, exactly: no float holds money."""
from __future__ import annotations

import re

_DECIMAL = re.compile(r"^(-?)(\d+)(?:\.(\d{1,2}))?$")


def to_cents(text: str) -> int:
    """'12.34' -> 1234 (one tick is a cent); more than two decimals is an error, never a rounding."""
    match = _DECIMAL.match(text)
    if match is None:
        raise ValueError(f"not a price or amount with at most 2 decimals: {text!r}")
    sign, whole, fraction = match.groups()
    cents = int(whole) * 100 + int((fraction or "").ljust(2, "0"))
    return -cents if sign else cents


def from_cents(cents: int) -> str:
    """1234 -> '12.34'; -5 -> '-0.05'."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"
