"""Journal events -> Socket.IO payloads: pure, no I/O.

Integers inside, decimal strings at the edge, in the same shapes as the REST
API: book levels as ``GET /book/{symbol}``, trades as ``GET /trades/{symbol}``
items (plus ``symbol``).
"""
from __future__ import annotations

from exchange.money import format_cents, format_price
from web.levels import Level, LevelBook


def book_snapshot(symbol: str, book: LevelBook) -> dict:
    return {"symbol": symbol, "sequence": book.sequence,
            "bids": [[format_price(p), q] for p, q in book.bids()],
            "asks": [[format_price(p), q] for p, q in book.asks()]}


def book_update(symbol: str, sequence: int, prev_sequence: int, changes: list[Level]) -> dict:
    return {"symbol": symbol, "sequence": sequence, "prev_sequence": prev_sequence,
            "changes": [[side, format_price(p), q] for side, p, q in changes]}


def trade(event: dict) -> dict:
    return {"symbol": event["symbol"], "trade_id": event["trade_id"], "price": format_price(event["price"]),
            "quantity": event["quantity"], "time": event["time"], "taker_side": event["taker_side"],
            "sequence": event["sequence"]}


def trading_status(event: dict) -> dict:
    """A halted or resumed event as the ``status`` message (the shape of GET /symbols' status fields)."""
    halted = event["type"] == "halted"
    return {"symbol": event["symbol"], "sequence": event["sequence"], "status": "halted" if halted else "trading",
            "halted_until": event["until_ms"] if halted else None, "halt_reason": event["reason"] if halted else None}


def order_events(event: dict) -> list[tuple[str, dict]]:
    """[(user id, private ``order`` payload)] for one journal event: accepted, fill
    (one for each side of a trade), amended, canceled, or done (filled or rejected).
    ``status`` always says how the order ended; ``type`` sets a cancel apart."""
    kind = event["type"]
    base = {"symbol": event["symbol"], "sequence": event["sequence"], "time": event["time"]}
    if kind == "accepted":
        order = event["order"]
        return [(event["user_id"], {**base, "type": "accepted", "order_id": event["order_id"],
                                    "client_order_id": order.get("client_order_id"), "side": order["side"],
                                    "order_type": order["type"], "price": format_price(order["price"]),
                                    "quantity": order["quantity"], "time_in_force": order["time_in_force"]})]
    if kind == "trade":
        taker_buys = event["taker_side"] == "buy"
        maker_fee, taker_fee = ((event["seller_fee"], event["buyer_fee"]) if taker_buys
                                else (event["buyer_fee"], event["seller_fee"]))
        fill = {**base, "type": "fill", "trade_id": event["trade_id"], "price": format_price(event["price"]),
                "quantity": event["quantity"]}
        return [
            (event["maker_user_id"], {**fill, "order_id": event["maker_order_id"],
                                      "side": "sell" if taker_buys else "buy", "liquidity": "maker",
                                      "fee": format_cents(maker_fee), "remaining_quantity": event["maker_remaining"]}),
            (event["taker_user_id"], {**fill, "order_id": event["taker_order_id"], "side": event["taker_side"],
                                      "liquidity": "taker", "fee": format_cents(taker_fee),
                                      "remaining_quantity": event["taker_remaining"]}),
        ]
    if kind == "amended":
        return [(event["user_id"], {**base, "type": "amended", "order_id": event["order_id"],
                                    "side": event.get("side"), "quantity": event["quantity"],
                                    "remaining_quantity": event["remaining"]})]
    if kind == "done":
        kind = "canceled" if event["status"] == "canceled" else "done"
        return [(event["user_id"], {**base, "type": kind, "order_id": event["order_id"],
                                    "side": event.get("side"), "status": event["status"],
                                    "reason": event["reason"], "remaining_quantity": event["remaining"]})]
    return []
