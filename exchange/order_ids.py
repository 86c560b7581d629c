"""Order ids: '<SYMBOL>.<12 hex digits of entry time, ms><16 random hex>'.

The symbol routes every lookup to its book; the entry time lets reconciliation
tell a hold stuck for good from one still on its way. Order entry makes them,
the matcher, the ledger and reconciliation read them.
"""
from __future__ import annotations

import re
import uuid

_ORDER_ID_TAIL = re.compile(r"[0-9a-f]{28}")


def new_order_id(symbol: str, now_ms: int) -> str:
    return f"{symbol}.{now_ms:012x}{uuid.uuid4().hex[:16]}"


def order_id_symbol(order_id: str) -> str | None:
    """The symbol an id of new_order_id's shape names, or None for any other string."""
    symbol, dot, tail = order_id.partition(".")
    return symbol if dot and _ORDER_ID_TAIL.fullmatch(tail) else None


def order_time_ms(order_id: str) -> int | None:
    """When an order was entered (ms), from its id; None for an id of another shape."""
    _symbol, _, rest = order_id.partition(".")
    try:
        return int(rest[:12], 16)
    except ValueError:
        return None
