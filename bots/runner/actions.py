"""Carry out a rule's action through the public REST API, as the rule's owner."""
from __future__ import annotations

from bots.rules import CancelAll, PlaceOrder
from exchange.money import format_cents
from exchange_client import ApiError, ExchangeClient

ORDER_FIELDS = ("order_id", "client_order_id", "symbol", "side", "type", "price", "stop_price", "quantity",
                "filled_quantity", "status")


def describe(action: PlaceOrder | CancelAll) -> dict:
    """The action as the bot's last_action shows it (its symbol resolved, prices as decimal strings)."""
    if isinstance(action, CancelAll):
        return {"type": "cancel_all", "symbol": action.symbol}
    return {"type": "order", "symbol": action.symbol, "side": action.side, "order_type": action.type,
            "price": None if action.price is None else format_cents(action.price), "quantity": action.quantity,
            "time_in_force": action.time_in_force,
            "stop_price": None if action.stop_price is None else format_cents(action.stop_price)}


def execute(api: ExchangeClient, action: PlaceOrder | CancelAll, client_order_id: str) -> dict:
    """Place the order (or cancel); the API's answer, trimmed. Raises ApiError when refused."""
    if isinstance(action, CancelAll):
        canceled = api.cancel_all(action.symbol).get("canceled", [])
        return {"canceled": len(canceled) if isinstance(canceled, list) else canceled}
    order = api.place_order(action.symbol, action.side, action.quantity, type=action.type,
                            price=None if action.price is None else format_cents(action.price),
                            time_in_force=action.time_in_force, client_order_id=client_order_id,
                            stop_price=None if action.stop_price is None else format_cents(action.stop_price))
    return {name: order[name] for name in ORDER_FIELDS if name in order}


def is_transient(error: ApiError) -> bool:
    """Worth retrying the same action later: throttled, busy, unreachable, a server fault, or the
    runner's own token refused (a SECRET_KEY that differs from the API's is the runner's fault, not
    the rule's). Anything else (insufficient_funds, no_liquidity, ...) is the exchange refusing it."""
    return error.status in (0, 401, 429) or error.status >= 500
