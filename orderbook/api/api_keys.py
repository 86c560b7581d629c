"""API keys: made, listed and revoked by their owner with the page's bearer token (orderbook.api_keys)."""
from flask import Blueprint, g, jsonify

from orderbook.api.spec import Auth, operation
from orderbook.responses import ApiKeys, NewApiKey
from orderbook.schemas import CreateApiKey, parse
from orderbook.services import bearer_required, login_required, services

bp = Blueprint("api_keys", __name__)


@bp.post("/api-keys")
@operation("accounts", {201: NewApiKey}, (400, 422), body=CreateApiKey, auth=Auth.BEARER)
@bearer_required
@login_required
def create_api_key():
    """Make an API key (scopes read, trade); its secret is in this answer only.

    422 api_key_limit when the user has as many keys as allowed."""
    body = parse(CreateApiKey)
    return jsonify(services().api_keys.create(g.user_id, body.scopes, body.label)), 201


@bp.get("/api-keys")
@operation("accounts", {200: ApiKeys}, auth=Auth.BEARER)
@bearer_required
@login_required
def list_api_keys():
    """My API keys (never their secrets)."""
    return jsonify({"api_keys": services().api_keys.of_user(g.user_id)})


@bp.delete("/api-keys/<key_id>")
@operation("accounts", {204: (None, "Revoked")}, (404,), auth=Auth.BEARER)
@bearer_required
@login_required
def revoke_api_key(key_id: str):
    """Revoke one of my API keys."""
    services().api_keys.revoke(g.user_id, key_id)
    return "", 204
