from flask import Blueprint, g, jsonify

from orderbook.history import ORDER_KEY, window_of
from orderbook.order_batch import place_batch
from orderbook.queries import CancelAllQuery, OrdersQuery, listed_symbol, parse_query
from orderbook.schemas import AmendOrderBody, PlaceOrder, parse, parse_batch
from orderbook.services import login_required, services

bp = Blueprint("orders", __name__)


@bp.post("/orders")
@login_required
def place_order():
    status, order = services().entry.place(g.user_id, parse(PlaceOrder))
    return jsonify(order), status


@bp.post("/orders/batch")
@login_required
def place_orders():
    """Up to 20 orders, each placed as if sent alone; one answer per order, in order."""
    answers, headers = place_batch(services().entry, g.user_id, parse_batch())
    return jsonify({"orders": answers}), 200, headers


@bp.get("/orders")
@login_required
def list_orders():
    query = parse_query(OrdersQuery)
    found = services()
    symbol = None if query.symbol is None else listed_symbol(query.symbol, found.settings.symbols, status=400)
    orders, next_cursor = found.entry.reads.page(g.user_id, query.status, symbol, window_of(query, ORDER_KEY))
    return jsonify({"orders": orders, "next_cursor": next_cursor})


@bp.get("/orders/<order_id>")
@login_required
def get_order(order_id: str):
    return jsonify(services().entry.reads.get(g.user_id, order_id))


@bp.patch("/orders/<order_id>")
@login_required
def amend_order(order_id: str):
    body = parse(AmendOrderBody)
    return jsonify(services().entry.amend(g.user_id, order_id, body.quantity))


@bp.delete("/orders/<order_id>")
@login_required
def cancel_order(order_id: str):
    return jsonify(services().entry.cancel(g.user_id, order_id))


@bp.delete("/orders")
@login_required
def cancel_all():
    return jsonify({"canceled": services().entry.cancel_all(g.user_id, parse_query(CancelAllQuery).symbol)})
