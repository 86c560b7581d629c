from flask import Blueprint, jsonify

from orderbook.schemas import Credentials, Registration, parse
from orderbook.services import bearer_token, login_required, services

bp = Blueprint("users", __name__)


@bp.post("/users")
def register():
    body = parse(Registration)
    return jsonify(services().auth.register(body.username, body.password)), 201


@bp.post("/sessions")
def login():
    body = parse(Credentials)
    return jsonify(services().auth.login(body.username, body.password)), 201


@bp.delete("/sessions")
@login_required
def logout():
    services().auth.revoke(bearer_token())
    return "", 204
