"""Encoding of inbox commands and order states, shared by order entry and the matcher."""
from __future__ import annotations

import orjson

from exchange.journal import OrderRecord, RejectReason
from exchange.money import hold_needed
from exchange.order_ids import order_id_symbol
from orderbook.model import (
    AmendOrder,
    CancelOrder,
    Command,
    HaltSymbol,
    NewOrder,
    OrderType,
    RestingOrder,
    ResumeSymbol,
    SelfTrade,
    Side,
    Status,
    StopOrder,
    TimeInForce,
    VoidOrder,
)


def encode_new(order: NewOrder, *, symbol: str, client_order_id: str | None, created_ms: int,
               maker_fee_bps: int = 0, taker_fee_bps: int = 0, hold: int = 0) -> bytes:
    """The inbox command of a new order; it carries the fee rates and hold fixed at entry."""
    return orjson.dumps({
        "kind": "new", "order_id": order.order_id, "user_id": order.user_id, "symbol": symbol,
        "side": order.side.value, "type": order.type.value, "price": order.price,
        "protection_price": order.protection_price, "quantity": order.quantity,
        "time_in_force": order.time_in_force.value, "post_only": order.post_only,
        "self_trade": order.self_trade.value, "client_order_id": client_order_id, "created_ms": created_ms,
        "maker_fee_bps": maker_fee_bps, "taker_fee_bps": taker_fee_bps, "hold": hold,
        "stop_price": order.stop_price,
    })


def encode_cancel(order_id: str, user_id: str) -> bytes:
    return orjson.dumps({"kind": "cancel", "order_id": order_id, "user_id": user_id})


def encode_amend(order_id: str, user_id: str, new_quantity: int) -> bytes:
    return orjson.dumps({"kind": "amend", "order_id": order_id, "user_id": user_id, "new_quantity": new_quantity})


def encode_void(order_id: str, user_id: str, asset: str) -> bytes:
    return orjson.dumps({"kind": "void", "order_id": order_id, "user_id": user_id, "asset": asset})


def encode_halt(until_ms: int | None, user_id: str = "operator") -> bytes:
    return orjson.dumps({"kind": "halt", "user_id": user_id, "until_ms": until_ms})


def encode_resume(user_id: str = "operator") -> bytes:
    return orjson.dumps({"kind": "resume", "user_id": user_id})


def decode(raw: bytes) -> tuple[Command | VoidOrder | HaltSymbol | ResumeSymbol, dict]:
    data = orjson.loads(raw)
    kind = data["kind"]
    if kind == "halt":
        return HaltSymbol(data["user_id"], data["until_ms"]), data
    if kind == "resume":
        return ResumeSymbol(data["user_id"]), data
    if kind == "cancel":
        return CancelOrder(data["order_id"], data["user_id"]), data
    if kind == "amend":
        return AmendOrder(data["order_id"], data["user_id"], data["new_quantity"]), data
    if kind == "void":
        return VoidOrder(data["order_id"], data["user_id"], data["asset"]), data
    return NewOrder(
        order_id=data["order_id"], user_id=data["user_id"], side=Side(data["side"]),
        quantity=data["quantity"], type=OrderType(data["type"]), price=data["price"],
        protection_price=data["protection_price"], time_in_force=TimeInForce(data["time_in_force"]),
        post_only=data["post_only"], self_trade=SelfTrade(data["self_trade"]), stop_price=data.get("stop_price"),
    ), data


def command_problem(command: Command | VoidOrder | HaltSymbol | ResumeSymbol, data: dict) -> RejectReason | None:
    """Why an inbox command cannot be applied, or None. Order entry never queues such a
    command; the matcher checks anyway, since one bad entry must not block a symbol."""
    if isinstance(command, VoidOrder):
        return None if isinstance(command.asset, str) and order_id_symbol(command.order_id) else RejectReason.INVALID_COMMAND
    if isinstance(command, HaltSymbol):
        return None if command.until_ms is None or isinstance(command.until_ms, int) else RejectReason.INVALID_COMMAND
    if not isinstance(command, NewOrder):
        return None
    if command.quantity <= 0 or (command.type.is_limit and (command.price or 0) <= 0):
        return RejectReason.INVALID_COMMAND
    if not command.type.is_limit and command.side is Side.BUY and command.protection_price is None:
        return RejectReason.INVALID_COMMAND  # its cash hold could not be sized
    stop = command.stop_price
    if command.type.is_stop != (stop is not None) or (stop is not None and (type(stop) is not int or stop <= 0)):
        return RejectReason.INVALID_COMMAND
    if not isinstance(data.get("hold"), int) or data.get("symbol") is None:
        return RejectReason.INVALID_COMMAND
    return None


def new_state(data: dict, priority: int) -> OrderRecord:
    """The stored state of a freshly accepted order (before any matching); ``priority`` is the
    sequence of its accepted event."""
    return {
        "order_id": data["order_id"], "client_order_id": data["client_order_id"], "user_id": data["user_id"],
        "symbol": data["symbol"], "side": data["side"], "type": data["type"], "price": data["price"],
        "protection_price": data["protection_price"], "stop_price": data.get("stop_price"),
        "quantity": data["quantity"], "filled_quantity": 0,
        "remaining_quantity": data["quantity"], "status": Status.NEW.value, "reason": None,
        "time_in_force": data["time_in_force"], "post_only": data["post_only"],
        "self_trade": data["self_trade"], "created_ms": data["created_ms"], "updated_ms": data["created_ms"],
        "priority": priority, "maker_fee_bps": data["maker_fee_bps"], "taker_fee_bps": data["taker_fee_bps"],
        "hold": data["hold"], "fees": 0,
    }


def hold_price(state: OrderRecord) -> int | None:
    """The per-share price a buy order's cash hold was sized at: its limit, else its collar."""
    return state["price"] if OrderType(state["type"]).is_limit else state["protection_price"]


def hold_for(state: OrderRecord, remaining: int) -> int:
    """What the order holds while ``remaining`` is left to trade (see exchange.money)."""
    reserve_bps = max(state["maker_fee_bps"], state["taker_fee_bps"])
    return hold_needed(state["side"], hold_price(state), remaining, reserve_bps)


def resting_price(state: OrderRecord) -> int:
    """The price of an order on the book (a limit order, or a triggered stop-limit): it has one."""
    price = state["price"]
    if price is None:
        raise ValueError(f"order {state['order_id']} rests with no price")
    return price


def stop_from_state(state: OrderRecord) -> StopOrder:
    """A parked stop order from its stored state."""
    order = NewOrder(
        order_id=state["order_id"], user_id=state["user_id"], side=Side(state["side"]),
        quantity=state["remaining_quantity"], type=OrderType(state["type"]), price=state["price"],
        protection_price=state["protection_price"], time_in_force=TimeInForce(state["time_in_force"]),
        post_only=state["post_only"], self_trade=SelfTrade(state["self_trade"]), stop_price=state["stop_price"])
    return StopOrder(order, state["priority"])


def resting_from_state(state: OrderRecord) -> RestingOrder:
    return RestingOrder(
        order_id=state["order_id"], user_id=state["user_id"], side=Side(state["side"]), price=resting_price(state),
        quantity=state["quantity"], remaining=state["remaining_quantity"], priority=state["priority"],
    )
