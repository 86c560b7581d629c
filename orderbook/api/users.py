from flask import Blueprint, jsonify

from orderbook.api.spec import Auth, operation
from orderbook.responses import Session
from orderbook.schemas import Credentials, Registration, parse
from orderbook.services import bearer_required, bearer_token, login_required, services

bp = Blueprint("users", __name__)


@bp.post("/users")
@operation("accounts", {201: Session}, (400, 409), body=Registration)
def register():
    """Register (a password of at least 8 characters); returns a bearer token.

    409 username_taken. Registrations have their own limit per address (REGISTRATION_RATE_LIMIT)."""
    body = parse(Registration)
    return jsonify(services().auth.register(body.username, body.password)), 201


@bp.post("/sessions")
@operation("accounts", {201: Session}, (400, 401), body=Credentials)
def login():
    """Log in; returns a bearer token.

    429 with Retry-After after 10 failures for a username in 15 minutes."""
    body = parse(Credentials)
    return jsonify(services().auth.login(body.username, body.password)), 201


@bp.delete("/sessions")
@operation("accounts", {204: (None, "Revoked")}, auth=Auth.BEARER)
@bearer_required
@login_required
def logout():
    """Revoke the token used."""
    services().auth.revoke(bearer_token())
    return "", 204
