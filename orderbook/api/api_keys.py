"""API keys: made, listed and revoked by their owner with the page's bearer token (orderbook.api_keys)."""
from flask import Blueprint, g, jsonify

from orderbook.schemas import CreateApiKey, parse
from orderbook.services import bearer_required, login_required, services

bp = Blueprint("api_keys", __name__)


@bp.post("/api-keys")
@bearer_required
@login_required
def create_api_key():
    body = parse(CreateApiKey)
    return jsonify(services().api_keys.create(g.user_id, body.scopes, body.label)), 201


@bp.get("/api-keys")
@bearer_required
@login_required
def list_api_keys():
    return jsonify({"api_keys": services().api_keys.of_user(g.user_id)})


@bp.delete("/api-keys/<key_id>")
@bearer_required
@login_required
def revoke_api_key(key_id: str):
    services().api_keys.revoke(g.user_id, key_id)
    return "", 204
