"""A user's fills, read out of the trades that hold them. Pure: no I/O.

The ledger of record stores one document per trade (``mongo.TRADES``), and the
trade holds both sides: each side's order, user and fee, and which side took.
A fill is one side of a trade as its user sees it. Its id is
``<trade id>:<side>``, and a self-trade is two fills of one user.

Fills are ordered by (time, trade id, side): the order of the trade documents
(``trades_by_user``: user_ids, time, _id), then the side.
"""
from __future__ import annotations

from exchange.journal import Side

SIDES = (Side.BUY.value, Side.SELL.value)  # ascending, as the key orders them


def fill_of(trade: dict, side: str) -> dict:
    """One side of a trade document as a fill document."""
    buying = side == Side.BUY
    return {"_id": f"{trade['_id']}:{side}", "trade_id": trade["_id"], "symbol": trade["symbol"], "side": side,
            "user_id": fill_user(trade, side),
            "order_id": trade["buy_order_id" if buying else "sell_order_id"],
            "price": trade["price"], "quantity": trade["quantity"],
            "fee": trade["buyer_fee" if buying else "seller_fee"],
            "liquidity": "taker" if trade["taker_side"] == side else "maker",
            "time": trade["time"], "sequence": trade["sequence"]}


def fills_of(trade: dict, user_id: str | None = None) -> list[dict]:
    """The trade's fills of ``user_id`` (None: both), in ascending key order."""
    return [fill_of(trade, side) for side in SIDES
            if user_id is None or fill_user(trade, side) == user_id]


def fill_user(trade: dict, side: str) -> str:
    return trade["buyer_id" if side == Side.BUY else "seller_id"]


def fill_key(fill: dict) -> tuple[int, str, str]:
    """(time, trade id, side): the order fills are paged in."""
    return fill["time"], fill["trade_id"], fill["side"]


def cursor_key(key: tuple[int, str, str]) -> tuple[int, str]:
    """A fill's key as its cursor shows it: (time, fill id)."""
    time, trade_id, side = key
    return time, f"{trade_id}:{side}"


def key_of_cursor(cursor: tuple[int, str]) -> tuple[int, str, str]:
    """The key a cursor (time, fill id) names."""
    time, fill_id = cursor
    trade_id, _colon, side = fill_id.rpartition(":")
    return time, trade_id, side
