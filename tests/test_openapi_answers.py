"""Every answer of a real session matches the OpenAPI document: its status is one the operation
documents, and its JSON body validates against that status's schema (no field the schema does
not name, none it requires missing). The session calls every operation of the document at
least once with a success, and gives the common errors too: bad input, bad or missing
credentials, a signed API key without the scope, a throttled login (429), a body over nginx's
limit (413), someone else's or no such object, an order no longer open, a pending order.

One stack for the module, every worker running (the ticker's candles, the ledger's fills, the
heartbeats of the deep health check), through nginx. GET /stats's 200 needs many minutes of
candles: tests/test_stats.py holds its seeded answers to the same schema.
"""
from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections import defaultdict

import pytest
import redis
import requests

from exchange import keys
from exchange.order_ids import new_order_id
from exchange_client.client import signed_headers
from tests.openapi_schemas import answer_validator
from tests.polling import wait_for
from tests.stack import start_stack

API = "/api/v1"
PASSWORD = "correct horse battery"
NEVER_TRIGGERS = {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 9999.00, "type": "gte"}},
                  "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1.00, "shares": 1}}}


class Session:
    """Calls operations by their path template; checks and records each answer."""

    def __init__(self, base_url: str, document: dict, redis_url: str):
        self.base_url, self.document, self.redis_url = base_url, document, redis_url
        self.answered: dict[tuple[str, str], set[int]] = defaultdict(set)

    def call(self, method: str, template: str, token: str | None = None, *, json=None, params=None,
             key: tuple[str, str] | None = None, data: bytes | None = None, **path: str) -> requests.Response:
        """Send an operation, with a bearer ``token`` or signed with an API ``key`` (id, secret)."""
        url_path = API + re.sub(r"{([^}]+)}", lambda m: path[m.group(1)], template)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key is not None:
            data = b"" if json is None else _json_bytes(json)
            headers = {**signed_headers(*key, method, url_path, data), "Content-Type": "application/json"}
        response = requests.request(method, self.base_url + url_path, json=None if data is not None else json,
                                    data=data, params=params, headers=headers, timeout=20)
        self.check(method.lower(), template, response)
        return response

    def check(self, method: str, template: str, response: requests.Response) -> None:
        where = f"{method.upper()} {template} -> {response.status_code}"
        documented = self.document["paths"][template][method]["responses"]
        assert str(response.status_code) in documented, f"{where}: undocumented status; {response.text[:300]}"
        self.answered[(template, method)].add(response.status_code)
        content = documented[str(response.status_code)].get("content", {})
        kind = response.headers.get("Content-Type", "").split(";")[0]
        if not content:
            assert not response.content, f"{where}: a body where the document has none"
            return
        assert kind in content, f"{where}: {kind} is not {list(content)}"
        if kind == "application/json":
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in
                      answer_validator(self.document, template, method, response.status_code)
                      .iter_errors(response.json())]
            assert not errors, f"{where}: {errors[:5]}"

    def register(self, name: str) -> dict:
        username = f"{name}{random.randrange(10**9)}"
        created = self.call("POST", "/users", json={"username": username, "password": PASSWORD})
        assert created.status_code == 201, created.text
        return created.json()

    def place(self, token: str, status: int = 201, **order) -> dict:
        placed = self.call("POST", "/orders", token, json=order)
        assert placed.status_code == status, placed.text
        return placed.json()


def _json_bytes(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def session():
    with start_stack(replicas=1, env={"RATE_LIMIT": "", "LEADERBOARD_MAX_AGE_S": "1"}) as stack:
        document = requests.get(f"{stack.base_url}{API}/openapi.json", timeout=10).json()
        yield Session(stack.base_url, document, stack.redis_url)


def test_accounts_and_keys(session):
    alice = session.register("alice")
    assert session.call("POST", "/users", json={"username": alice["username"], "password": PASSWORD}) \
        .status_code == 409
    assert session.call("POST", "/users", json={"username": "x", "password": PASSWORD}).status_code == 400
    assert session.call("POST", "/sessions", json={"username": alice["username"], "password": "wrong one"}) \
        .status_code == 401
    token = session.call("POST", "/sessions", json={"username": alice["username"], "password": PASSWORD}) \
        .json()["token"]
    assert session.call("GET", "/account", token).status_code == 200
    assert session.call("GET", "/balance/{user_id}", token, user_id=alice["user_id"]).status_code == 200
    assert session.call("GET", "/balance/{user_id}", token, user_id=uuid.uuid4().hex).status_code == 403
    assert session.call("GET", "/holdings/{symbol}/{user_id}", token, symbol="PUPS",
                        user_id=alice["user_id"]).status_code == 200
    assert session.call("GET", "/account").status_code == 401
    made = session.call("POST", "/api-keys", token, json={"scopes": ["read"], "label": "bot"})
    assert made.status_code == 201 and made.json()["secret"]
    assert session.call("POST", "/api-keys", token, json={"scopes": ["admin"]}).status_code == 400
    assert session.call("GET", "/api-keys", token).json()["api_keys"][0]["label"] == "bot"
    key_id = made.json()["key_id"]
    assert session.call("DELETE", "/api-keys/{key_id}", token, key_id=key_id).status_code == 204
    assert session.call("DELETE", "/api-keys/{key_id}", token, key_id=key_id).status_code == 404
    assert session.call("DELETE", "/sessions", token).status_code == 204


def test_orders_fills_and_their_errors(session):
    bob, alice = session.register("bob"), session.register("alice")
    sold = session.place(bob["token"], symbol="PUPS", side="sell", price="5.00", quantity=2)
    bought = session.place(alice["token"], symbol="PUPS", side="buy", price="5.00", quantity=2)
    assert bought["status"] == "filled" and bought["fills"]
    resting = session.place(alice["token"], symbol="KRYP", side="buy", price="2.00", quantity=10,
                            client_order_id="answers-1")
    assert session.place(alice["token"], 200, symbol="KRYP", side="buy", price="2.00", quantity=10,
                         client_order_id="answers-1")["order_id"] == resting["order_id"]
    stop = session.place(alice["token"], symbol="PUPS", side="buy", type="stop", stop_price="9.00", quantity=1)
    assert stop["status"] == "untriggered" and stop["stop_price"] == "9.00" and stop["protection_price"]
    session.place(alice["token"], 400, symbol="KRYP", side="buy", price="2.001", quantity=1)
    session.place(alice["token"], 422, symbol="KRYP", side="buy", price="2.00", quantity=10**8)
    batch = session.call("POST", "/orders/batch", alice["token"], json={"orders": [
        {"symbol": "ADAM", "side": "buy", "price": "1.00", "quantity": 1}, {"symbol": "NOPE", "side": "buy"}]})
    assert [("error" in answer) for answer in batch.json()["orders"]] == [False, True]
    order_id = resting["order_id"]
    assert session.call("GET", "/orders/{order_id}", alice["token"], order_id=order_id).status_code == 200
    assert session.call("GET", "/orders/{order_id}", bob["token"], order_id=order_id).status_code == 404
    assert session.call("PATCH", "/orders/{order_id}", alice["token"], json={"quantity": 4},
                        order_id=order_id).json()["quantity"] == 4
    assert session.call("DELETE", "/orders/{order_id}", alice["token"], order_id=order_id).status_code == 200
    assert session.call("DELETE", "/orders/{order_id}", alice["token"], order_id=order_id).status_code == 409
    assert session.call("GET", "/orders", alice["token"], params={"status": "all"}).json()["orders"]
    assert session.call("GET", "/orders", alice["token"], params={"limit": "0"}).status_code == 400
    assert len(session.call("DELETE", "/orders", alice["token"]).json()["canceled"]) == 2  # the stop, ADAM's
    wait_for(lambda: session.call("GET", "/fills", alice["token"]).json()["fills"], "alice's fill, settled")
    exported = session.call("GET", "/fills.csv", bob["token"], params={"symbol": "PUPS"})
    assert exported.text.count("\n") == 2 and sold["order_id"] in exported.text


def test_market_data(session):
    for template in ("/book/{symbol}", "/book/{symbol}/hash", "/ticker/{symbol}", "/candles/{symbol}",
                     "/trades/{symbol}"):
        assert session.call("GET", template, symbol="PUPS").status_code == 200
        assert session.call("GET", template, symbol="NOPE").status_code == 404
    assert session.call("GET", "/candles/{symbol}", symbol="PUPS", params={"interval": "1s"}).status_code == 200
    assert session.call("GET", "/candles/{symbol}", symbol="PUPS", params={"interval": "2m"}).status_code == 400
    assert session.call("GET", "/symbols").status_code == 200
    assert session.call("GET", "/stats", params={"window": "10"}).status_code == 422
    assert session.call("GET", "/stats", params={"symbols": "NOPE"}).status_code == 400
    me = session.register("carol")
    assert session.call("GET", "/leaderboard", me["token"]).json()["me"]["username"] == me["username"]
    assert session.call("GET", "/leaderboard").json()["me"] is None
    assert session.call("GET", "/healthz").status_code == 200
    wait_for(lambda: session.call("GET", "/healthz", params={"deep": "1"}).status_code == 200,
             "every kind of worker beating")


def test_bots(session):
    dave = session.register("dave")
    created = session.call("POST", "/bots", dave["token"], json={"name": "never", "rule": NEVER_TRIGGERS})
    assert created.status_code == 201
    bot_id = created.json()["bot_id"]
    assert session.call("POST", "/bots", dave["token"], json={"rule": {"$do": 1}}).status_code == 400
    assert session.call("GET", "/bots", dave["token"]).json()["bots"][0]["bot_id"] == bot_id
    assert session.call("GET", "/bots/{bot_id}", dave["token"], bot_id=bot_id).status_code == 200
    assert session.call("DELETE", "/bots/{bot_id}", dave["token"], bot_id=bot_id).json()["status"] == "stopped"
    assert session.call("GET", "/bots/{bot_id}", dave["token"], bot_id=uuid.uuid4().hex).status_code == 404


def test_api_keys_signed_requests_and_their_refusals(session):
    erin = session.register("erin")
    keys_made = {scope: session.call("POST", "/api-keys", erin["token"], json={"scopes": [scope]}).json()
                 for scope in ("read", "trade")}
    read, trade = ((made["key_id"], made["secret"]) for made in keys_made.values())
    assert session.call("GET", "/account", key=read).status_code == 200
    order = {"symbol": "ADAM", "side": "buy", "price": "1.00", "quantity": 1}
    refused = session.call("POST", "/orders", key=read, json=order)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope")
    assert session.call("POST", "/orders", key=trade, json=order).status_code == 201
    forged = session.call("GET", "/account", key=(read[0], "not the secret"))
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "invalid_signature")
    assert session.call("DELETE", "/sessions", key=trade).json()["error"]["code"] == "bearer_token_required"


def test_throttled_logins_pending_orders_and_oversized_bodies(session):
    frank = session.register("frank")
    wrong = {"username": frank["username"], "password": "not his password"}
    answers = [session.call("POST", "/sessions", json=wrong).status_code for _ in range(11)]
    assert answers[:10] == [401] * 10 and answers[10] == 429
    on_its_way = new_order_id("PUPS", int(time.time() * 1000))  # in its owner's list, not yet on the book
    redis.Redis.from_url(session.redis_url).zadd(keys.user_orders(frank["user_id"]),
                                                 {on_its_way: int(time.time() * 1000)})
    pending = session.call("GET", "/orders/{order_id}", frank["token"], order_id=on_its_way)
    assert (pending.status_code, pending.json()["status"]) == (200, "pending")
    huge = {"symbol": "PUPS", "side": "buy", "price": "1.00", "quantity": 1, "client_order_id": "x" * 2_000_000}
    too_large = session.call("POST", "/orders", frank["token"], json=huge)
    assert (too_large.status_code, too_large.json()["error"]["code"]) == (413, "payload_too_large")


def test_every_operation_answered_with_a_success(session):
    """After the tests above: each operation of the document gave a 2xx that matched (GET /stats's
    own are checked in tests/test_stats.py)."""
    operations = {(path, method) for path, methods in session.document["paths"].items() for method in methods}
    succeeded = {operation for operation, statuses in session.answered.items()
                 if any(200 <= status < 300 for status in statuses)}
    assert operations - succeeded == {("/stats", "get")}
