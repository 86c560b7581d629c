"""The authorization sweep's users and calls (tests/test_authz_sweep.py): two traders with
orders, bots and API keys, and a route ("METHOD /rule") sent with its path arguments filled in."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import requests

API = "/api/v1"
NEVER_TRIGGERS = {"$when": {"$comparison": {"itemA": {"$ticker": "KRYP"}, "itemB": 9999.00, "type": "gte"}},
                  "$do": {"$order": {"kind": "LIMIT", "intent": "BUY", "bid": 1.00, "shares": 1}}}


@dataclass
class Trader:
    username: str
    user_id: str
    token: str
    orders: dict[str, str] = field(default_factory=dict)  # open | filled | canceled -> order id
    bots: dict[str, str] = field(default_factory=dict)  # waiting | stopped -> bot id
    api_keys: dict[str, str] = field(default_factory=dict)  # kept | spare -> API key id

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    alice: Trader  # the caller
    bob: Trader  # the other user, whose objects alice probes


def call(stack, route: str, who: Trader | None = None, *, json=None, headers=None, **path) -> requests.Response:
    """Send ``route`` ("METHOD /rule") with its path arguments filled in from ``path``."""
    method, rule = route.split(" ", 1)
    url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: path[m.group(1)], rule)
    headers = {**(who.headers if who else {}), **(headers or {})}
    return requests.request(method, stack.base_url + url, json=json, headers=headers, timeout=15)


def register(stack, name: str) -> Trader:
    username = f"{name}{random.randrange(10**9)}"
    created = call(stack, "POST /api/v1/users", json={"username": username, "password": "correct horse"})
    assert created.status_code == 201, created.text
    return Trader(username, created.json()["user_id"], created.json()["token"])


def place(stack, who: Trader, **order) -> dict:
    placed = call(stack, "POST /api/v1/orders", who, json={"type": "limit", **order})
    assert placed.status_code == 201, placed.text
    return placed.json()


def add_bots(stack, who: Trader) -> None:
    for status in ("waiting", "stopped"):
        created = call(stack, "POST /api/v1/bots", who, json={"name": f"{who.username}-{status}",
                                                              "rule": NEVER_TRIGGERS})
        assert created.status_code == 201, created.text
        who.bots[status] = created.json()["bot_id"]
    assert call(stack, "DELETE /api/v1/bots/<bot_id>", who, bot_id=who.bots["stopped"]).status_code == 200


def add_api_keys(stack, who: Trader) -> None:
    for name in ("kept", "spare"):  # the spare is the caller's own one a DELETE probe may revoke
        made = call(stack, "POST /api/v1/api-keys", who, json={"scopes": ["read"], "label": name})
        assert made.status_code == 201, made.text
        who.api_keys[name] = made.json()["key_id"]


def balances(stack, who: Trader) -> dict:
    return call(stack, "GET /api/v1/account", who).json()["balances"]


def state_of(stack, who: Trader) -> dict:
    """Everything the API shows ``who`` about their own orders, bots, balances and fills."""
    state = {name: call(stack, f"GET /api/v1/{name}", who).json()
             for name in ("account", "fills", "bots", "api-keys")}
    for status in ("open", "all"):
        state[f"orders?status={status}"] = requests.get(f"{stack.base_url}{API}/orders?status={status}",
                                                        headers=who.headers, timeout=15).json()
    for order_id in who.orders.values():
        state[order_id] = call(stack, "GET /api/v1/orders/<order_id>", who, order_id=order_id).json()
    for bot_id in who.bots.values():
        state[bot_id] = call(stack, "GET /api/v1/bots/<bot_id>", who, bot_id=bot_id).json()
    return state
