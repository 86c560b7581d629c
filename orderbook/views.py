"""Stored records -> API JSON: integers inside, decimal strings at the edge."""
from __future__ import annotations

from typing import Any

from exchange.journal import OrderRecord
from exchange.money import format_cents, format_price


def fill(record: dict) -> dict:
    return {"trade_id": record["trade_id"], "price": format_price(record["price"]), "quantity": record["quantity"],
            "fee": format_cents(record.get("fee", 0)), "liquidity": record["liquidity"], "time": record["time"]}


def history_fill(record: dict) -> dict:
    """A fill from the ledger of record (GET /fills)."""
    return {**fill(record), "symbol": record["symbol"], "side": record["side"], "order_id": record["order_id"]}


def trade(record: dict) -> dict:
    """A public trade (GET /trades), from the recent-trades list or the ledger of record."""
    return {"trade_id": record["trade_id"] if "trade_id" in record else record["_id"],
            "price": format_price(record["price"]), "quantity": record["quantity"], "time": record["time"],
            "taker_side": record["taker_side"], "sequence": record["sequence"]}


def order(state: OrderRecord, fills: list[dict] | None = None) -> dict:
    view: dict[str, Any] = {
        "order_id": state["order_id"], "client_order_id": state["client_order_id"], "symbol": state["symbol"],
        "side": state["side"], "type": state["type"], "price": format_price(state["price"]),
        "quantity": state["quantity"], "filled_quantity": state["filled_quantity"],
        "remaining_quantity": state["remaining_quantity"], "status": state["status"],
        "reason": state.get("reason"), "time_in_force": state["time_in_force"], "post_only": state["post_only"],
        "created_at": state["created_ms"], "updated_at": state["updated_ms"],
    }
    if state["type"] in ("market", "stop"):
        view["protection_price"] = format_price(state["protection_price"])
    if state.get("stop_price") is not None:
        view["stop_price"] = format_price(state["stop_price"])
    if fills is not None:
        view["fills"] = [fill(f) for f in fills]
    return view


def levels(flat: list) -> list[list]:
    """[p1, q1, p2, q2, ...] ticks -> [["12.34", q1], ...]."""
    return [[format_price(int(flat[i])), int(flat[i + 1])] for i in range(0, len(flat), 2)]
