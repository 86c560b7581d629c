from flask import Blueprint, g, jsonify, request

from orderbook.errors import ApiError
from orderbook.schemas import AmendOrderBody, PlaceOrder, parse
from orderbook.services import int_arg, login_required, services

bp = Blueprint("orders", __name__)


@bp.post("/orders")
@login_required
def place_order():
    status, order = services().entry.place(g.user_id, parse(PlaceOrder))
    return jsonify(order), status


@bp.get("/orders")
@login_required
def list_orders():
    status = request.args.get("status", "open")
    if status not in ("open", "all"):
        raise ApiError(400, "invalid_status", "status must be 'open' or 'all'")
    limit = int_arg("limit", 100, 1, 1000)
    return jsonify({"orders": services().entry.list(g.user_id, status, request.args.get("symbol"), limit)})


@bp.get("/orders/<order_id>")
@login_required
def get_order(order_id: str):
    return jsonify(services().entry.get(g.user_id, order_id))


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
    return jsonify({"canceled": services().entry.cancel_all(g.user_id, request.args.get("symbol"))})
