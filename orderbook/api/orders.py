from flask import Blueprint, g, jsonify

from orderbook.api.spec import Auth, operation
from orderbook.history import ORDER_KEY, window_of
from orderbook.order_batch import place_batch
from orderbook.queries import CancelAllQuery, OrdersQuery, listed_symbol, parse_query
from orderbook.responses import CanceledOrders, Order, OrderOrPending, OrdersPage, PendingOrder, PlacedOrders
from orderbook.schemas import AmendOrderBody, PlaceOrder, PlaceOrders, parse, parse_batch
from orderbook.services import login_required, services

bp = Blueprint("orders", __name__)
PLACED = {201: (Order, "Placed: the order as the book left it, with its fills"),
          200: (Order, "A client_order_id already used: the order it placed"),
          202: PendingOrder}


@bp.post("/orders")
@operation("orders", PLACED, (400, 422), body=PlaceOrder, auth=Auth.SIGNED)
@login_required
def place_order():
    """Place an order; the answer shows its fills.

    422 for an order refused whole: insufficient_funds, position_limit, no_liquidity, price_out_of_band,
    symbol_halted, stop_would_trigger, order_too_small, order_too_large, too_many_open_orders. 429 over
    ORDER_RATE_LIMIT. An order with a client_order_id may be sent again safely: the same id answers the
    same order (200) or the same refusal."""
    status, order = services().entry.place(g.user_id, parse(PlaceOrder))
    return jsonify(order), status


@bp.post("/orders/batch")
@operation("orders", {200: PlacedOrders}, (400,), body=PlaceOrders, auth=Auth.SIGNED, rate_limited=False)
@login_required
def place_orders():
    """Place a batch of orders (at most 20), each as if sent alone, in the order given.

    `orders` answers each in turn: the order as POST /orders shows it, or its own error. One bad order fails
    alone; an order over ORDER_RATE_LIMIT is its own 429 error, and Retry-After comes with the answer."""
    answers, headers = place_batch(services().entry, g.user_id, parse_batch())
    return jsonify({"orders": answers}), 200, headers


@bp.get("/orders")
@operation("orders", {200: OrdersPage}, (400,), query=OrdersQuery, auth=Auth.SIGNED)
@login_required
def list_orders():
    """My open orders, or (status=all) every order I ever placed: a page, newest first, with next_cursor
    (null on the last page)."""
    query = parse_query(OrdersQuery)
    found = services()
    symbol = None if query.symbol is None else listed_symbol(query.symbol, found.settings.symbols, status=400)
    orders, next_cursor = found.entry.reads.page(g.user_id, query.status, symbol, window_of(query, ORDER_KEY))
    return jsonify({"orders": orders, "next_cursor": next_cursor})


@bp.get("/orders/<order_id>")
@operation("orders", {200: OrderOrPending}, (404,), auth=Auth.SIGNED)
@login_required
def get_order(order_id: str):
    """One of my orders, with its fills; ``pending`` while it is still on its way to the book."""
    return jsonify(services().entry.reads.get(g.user_id, order_id))


@bp.patch("/orders/<order_id>")
@operation("orders", {200: Order}, (400, 404, 409), body=AmendOrderBody, auth=Auth.SIGNED)
@login_required
def amend_order(order_id: str):
    """Reduce an order's quantity, keeping its priority.

    409 order_not_open once it is done."""
    body = parse(AmendOrderBody)
    return jsonify(services().entry.amend(g.user_id, order_id, body.quantity))


@bp.delete("/orders/<order_id>")
@operation("orders", {200: Order}, (400, 404, 409), auth=Auth.SIGNED)
@login_required
def cancel_order(order_id: str):
    """Cancel an order; the answer is the order as canceled, with its fills.

    409 order_not_open once it is done."""
    return jsonify(services().entry.cancel(g.user_id, order_id))


@bp.delete("/orders")
@operation("orders", {200: CanceledOrders}, (400,), query=CancelAllQuery, auth=Auth.SIGNED)
@login_required
def cancel_all():
    """Cancel all my open orders (of one symbol, with symbol=): the answer lists those canceled."""
    return jsonify({"canceled": services().entry.cancel_all(g.user_id, parse_query(CancelAllQuery).symbol)})
