"""API keys: scoped keys their owner makes and revokes, and requests signed with HMAC-SHA256 over
the timestamp, method, path and body. Each way a signed request can be wrong has its own code."""
from __future__ import annotations

import time

import pytest

from exchange_client import signed_headers
from orderbook import api_keys

KEYS = "/api/v1/api-keys"


@pytest.fixture
def alice(client, register):
    return register("alice")


def make_key(client, owner, *scopes: str) -> dict:
    made = client.post(KEYS, json={"scopes": list(scopes), "label": "my bot"}, headers=owner)
    assert made.status_code == 201, made.json
    return made.json


def signed(client, key: dict, method: str, path: str, json=None, **overrides):
    """Send a request signed with ``key``; ``overrides`` replace signed headers afterwards."""
    body = b"" if json is None else client.application.json.dumps(json).encode()
    headers = {**signed_headers(key["key_id"], key["secret"], method, path, body), **overrides}
    return client.open(path, method=method, data=body, headers=headers, content_type="application/json")


def test_a_key_is_made_once_listed_without_its_secret_and_revoked(client, alice):
    key = make_key(client, alice, "read")
    assert key["key_id"].startswith("k_") and len(key["secret"]) >= 40 and key["scopes"] == ["read"]
    listed = client.get(KEYS, headers=alice).json["api_keys"]
    assert listed == [{"key_id": key["key_id"], "scopes": ["read"], "label": "my bot", "created_at": key["created_at"]}]
    account = signed(client, key, "GET", "/api/v1/account")
    assert account.status_code == 200 and account.json["user_id"] == alice.user_id
    assert client.delete(f"{KEYS}/{key['key_id']}", headers=alice).status_code == 204
    assert client.get(KEYS, headers=alice).json["api_keys"] == []
    revoked = signed(client, key, "GET", "/api/v1/account")
    assert (revoked.status_code, revoked.json["error"]["code"]) == (401, "invalid_api_key")


def test_trade_scope_places_and_cancels_and_read_scope_may_not(client, alice):
    trader, reader = make_key(client, alice, "read", "trade"), make_key(client, alice, "read")
    order = {"symbol": "KRYP", "side": "buy", "price": "5.00", "quantity": 2}
    placed = signed(client, trader, "POST", "/api/v1/orders", order)
    assert placed.status_code == 201 and placed.json["status"] == "new"
    listed = signed(client, reader, "GET", "/api/v1/orders?status=open&symbol=KRYP")  # the query is signed too
    assert [o["order_id"] for o in listed.json["orders"]] == [placed.json["order_id"]]
    refused = signed(client, reader, "POST", "/api/v1/orders", order)
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "insufficient_scope")
    refused = signed(client, reader, "DELETE", f"/api/v1/orders/{placed.json['order_id']}")
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "insufficient_scope")
    canceled = signed(client, trader, "DELETE", f"/api/v1/orders/{placed.json['order_id']}")
    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"


def test_a_bad_signature_a_stale_timestamp_and_a_replay_are_refused(client, alice):
    key = make_key(client, alice, "read", "trade")
    path = "/api/v1/account"

    def code(answer) -> tuple[int, str]:
        return answer.status_code, answer.json["error"]["code"]

    assert code(signed(client, key, "GET", path, **{"X-API-Signature": "0" * 64})) == (401, "invalid_signature")
    wrong_secret = {**key, "secret": key["secret"][:-1] + ("A" if key["secret"][-1] != "A" else "B")}
    assert code(signed(client, wrong_secret, "GET", path)) == (401, "invalid_signature")
    # Signed for one path or body, sent with another.
    headers = signed_headers(key["key_id"], key["secret"], "GET", "/api/v1/fills", b"")
    assert code(client.get(path, headers=headers)) == (401, "invalid_signature")
    body = b'{"symbol": "KRYP", "side": "buy", "price": "5.00", "quantity": 2}'
    headers = signed_headers(key["key_id"], key["secret"], "POST", "/api/v1/orders", body)
    assert code(client.post("/api/v1/orders", data=body.replace(b"2}", b"200}"), headers=headers,
                            content_type="application/json")) == (401, "invalid_signature")
    stale = str(int(time.time() * 1000) - api_keys.SIGNATURE_WINDOW_MS - 1000)
    old = {"X-API-Timestamp": stale, "X-API-Signature": api_keys.signature(key["secret"], stale, "GET", path, b"")}
    assert code(signed(client, key, "GET", path, **old)) == (401, "stale_timestamp")
    assert code(signed(client, key, "GET", path, **{"X-API-Timestamp": "soon"})) == (401, "stale_timestamp")
    assert code(signed(client, key, "GET", path, **{"X-API-Timestamp": "²"})) == (401, "stale_timestamp")
    assert code(signed(client, key, "GET", path, **{"X-API-Signature": "é" * 64})) == (401, "invalid_signature")
    assert code(signed(client, {**key, "key_id": "k_nobody"}, "GET", path)) == (401, "invalid_api_key")

    once = signed_headers(key["key_id"], key["secret"], "GET", path, b"")
    assert client.get(path, headers=once).status_code == 200
    assert code(client.get(path, headers=once)) == (401, "replayed_request")


def test_keys_are_managed_with_the_bearer_token_only(client, alice, register):
    key = make_key(client, alice, "read", "trade")
    assert signed(client, key, "POST", KEYS, {"scopes": ["trade"]}).json["error"]["code"] == "bearer_token_required"
    assert signed(client, key, "GET", KEYS).status_code == 403
    bob = register("bob")
    assert client.delete(f"{KEYS}/{key['key_id']}", headers=bob).status_code == 404  # not his
    for body, error in (({"scopes": []}, "invalid_scopes"), ({"scopes": ["admin"]}, "invalid_scopes.0"),
                        ({"scopes": ["read"], "label": "x" * 65}, "invalid_label"), ({}, "missing_field")):
        answer = client.post(KEYS, json=body, headers=alice)
        assert (answer.status_code, answer.json["error"]["code"]) == (400, error), answer.json
    for _ in range(api_keys.MAX_KEYS_PER_USER - 1):
        make_key(client, alice, "read")
    over = client.post(KEYS, json={"scopes": ["read"]}, headers=alice)
    assert (over.status_code, over.json["error"]["code"]) == (422, "api_key_limit")
