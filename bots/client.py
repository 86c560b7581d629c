"""A client for the exchange's public REST API: the same API a user's own bot would use.

Prices and cash cross the wire as decimal strings ("12.34"); convert them with
``exchange.money`` (``parse_cents`` / ``format_cents``), never with floats.
Every non-2xx answer raises ``ApiError`` with the server's error code; a 429 is
``rate_limited`` (back off and retry later). A network failure or a reply that
is not JSON is an ``ApiError`` too (codes ``connection_error``, ``http_<status>``),
so a bot's loop needs to catch one exception type only.
"""
from __future__ import annotations

import hashlib
import hmac
import json as jsonlib
import time
from collections.abc import Iterator
from typing import Any

import requests

API_PREFIX = "/api/v1"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def signed_headers(key_id: str, secret: str, method: str, path: str, body: bytes) -> dict[str, str]:
    """The headers of a request signed with an API key: hex HMAC-SHA256, keyed with the secret, of
    the timestamp (epoch ms), the method, the path with its query as sent, and the body."""
    timestamp = str(int(time.time() * 1000))
    message = timestamp.encode() + method.upper().encode() + path.encode() + body
    return {"X-API-Key": key_id, "X-API-Timestamp": timestamp,
            "X-API-Signature": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}


class ExchangeClient:
    """Signs in with a bearer token (register/login), or signs every request with an API key
    (``api_key`` and ``api_secret``, from POST /api-keys) as a program would."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10,
                 api_key: str | None = None, api_secret: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.api_key, self.api_secret = api_key, api_secret
        self.user_id: str | None = None
        self.username: str | None = None
        self.timeout = timeout
        self.session = requests.Session()

    # ---- transport -------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token and not self.api_key else {}
        params = {k: v for k, v in (params or {}).items() if v is not None}
        body = b"" if json is None else jsonlib.dumps(json).encode()
        if json is not None:
            headers["Content-Type"] = "application/json"
        try:
            prepared = self.session.prepare_request(requests.Request(
                method, f"{self.base_url}{API_PREFIX}{path}", data=body or None, params=params, headers=headers))
            if self.api_key and self.api_secret:  # sign exactly the path and body that are sent
                prepared.headers.update(signed_headers(self.api_key, self.api_secret, method, prepared.path_url, body))
            reply = self.session.send(prepared, timeout=self.timeout)
        except requests.RequestException as error:
            raise ApiError(0, "connection_error", str(error)) from None
        if reply.status_code == 204 or not reply.content:
            if reply.ok:
                return {}
        try:
            body = reply.json()
        except ValueError:
            body = None
        if reply.ok and body is not None:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and "code" in error:
            raise ApiError(reply.status_code, str(error["code"]), str(error.get("message", "")))
        if reply.status_code == 429:
            raise ApiError(429, "rate_limited", reply.text[:200])
        raise ApiError(reply.status_code, f"http_{reply.status_code}", reply.text[:200])

    # ---- accounts --------------------------------------------------------------------

    def _signed_in(self, body: dict) -> dict:
        self.token = body["token"]
        self.user_id = body["user_id"]
        self.username = body.get("username")
        return body

    def register(self, username: str, password: str) -> dict:
        return self._signed_in(self.request("POST", "/users", json={"username": username, "password": password}))

    def login(self, username: str, password: str) -> dict:
        return self._signed_in(self.request("POST", "/sessions", json={"username": username, "password": password}))

    def create_api_key(self, scopes: list[str], label: str | None = None) -> dict:
        """{"key_id", "secret", "scopes", "label", "created_at"}: the secret is shown this once."""
        return self.request("POST", "/api-keys", json={"scopes": scopes, "label": label})

    def api_keys(self) -> list[dict]:
        return self.request("GET", "/api-keys")["api_keys"]

    def revoke_api_key(self, key_id: str) -> None:
        self.request("DELETE", f"/api-keys/{key_id}")

    def account(self) -> dict:
        """{"user_id", "balances": {"USD": {"available": "1.00", "on_hold": "0.00"}, SYMBOL: {...ints}}}"""
        return self.request("GET", "/account")

    # ---- orders ----------------------------------------------------------------------

    def place_order(self, symbol: str, side: str, quantity: int, *, type: str = "limit", price: str | None = None,
                    time_in_force: str = "GTC", post_only: bool = False,
                    client_order_id: str | None = None, stop_price: str | None = None) -> dict:
        body: dict[str, Any] = {"symbol": symbol, "side": side, "type": type, "quantity": quantity,
                                "time_in_force": time_in_force, "post_only": post_only}
        if price is not None:
            body["price"] = price
        if stop_price is not None:  # a stop or stop_limit order's trigger
            body["stop_price"] = stop_price
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        return self.request("POST", "/orders", json=body)

    def place_orders(self, orders: list[dict]) -> list[dict]:
        """Up to 20 orders in one request (each a POST /orders body), each placed as if sent alone;
        one answer per order, in order: the order, or {"error": {"code", "message"}}."""
        return self.request("POST", "/orders/batch", json={"orders": orders})["orders"]

    def order(self, order_id: str) -> dict:
        return self.request("GET", f"/orders/{order_id}")

    def open_orders(self, symbol: str | None = None, limit: int = 1000) -> list[dict]:
        return self.request("GET", "/orders", params={"status": "open", "symbol": symbol, "limit": limit})["orders"]

    def all_orders(self, symbol: str | None = None) -> list[dict]:
        """Every order I ever placed, newest first (live and archived), read a page at a time."""
        return list(self.pages("/orders", "orders", status="all", symbol=symbol, limit=1000))

    def pages(self, path: str, key: str, **params: Any) -> Iterator[dict]:
        """Every item of a paged list (orders, fills, trades, bots), newest first: each page's
        ``next_cursor`` is passed back until it is null."""
        cursor = None
        while True:
            page = self.request("GET", path, params={**params, "cursor": cursor})
            yield from page[key]
            cursor = page.get("next_cursor")
            if cursor is None:
                return

    def cancel_order(self, order_id: str) -> dict:
        return self.request("DELETE", f"/orders/{order_id}")

    def cancel_all(self, symbol: str | None = None) -> dict:
        return self.request("DELETE", "/orders", params={"symbol": symbol})

    def fills(self, symbol: str | None = None, limit: int = 100) -> list[dict]:
        return self.request("GET", "/fills", params={"symbol": symbol, "limit": limit})["fills"]

    # ---- market data (public) --------------------------------------------------------

    def symbols(self) -> list[dict]:
        return self.request("GET", "/symbols")["symbols"]

    def book(self, symbol: str, depth: int = 10) -> dict:
        """{"symbol", "sequence", "bids": [["12.34", qty], ...] best first, "asks": [...]}"""
        return self.request("GET", f"/book/{symbol}", params={"depth": depth})

    def ticker(self, symbol: str) -> dict:
        return self.request("GET", f"/ticker/{symbol}")

    def trades(self, symbol: str, limit: int = 100) -> list[dict]:
        """Recent trades, newest first: [{"trade_id", "price", "quantity", ...}]."""
        return self.request("GET", f"/trades/{symbol}", params={"limit": limit})["trades"]

    def stats(self, symbols: list[str], *, interval: str = "1m", window: int = 60, series: bool = False) -> dict:
        """Return statistics of the symbols and their pairs (GET /stats): {"symbols": {SYM: {...}},
        "pairs": [{"symbols", "correlation", "hedge_ratio", "cointegration", "spread"}], "conventions"}."""
        params = {"symbols": ",".join(symbols), "interval": interval, "window": window, "series": int(series)}
        return self.request("GET", "/stats", params=params)

    def leaderboard(self, limit: int | None = None) -> list[dict]:
        """Rows best first: {"rank", "username", "house", "value", "pnl"}; with a token, my own row also has
        "cash" and "shares". The exchange recomputes it every few seconds, so it may lag the last trade."""
        return _listed(self.request("GET", "/leaderboard", params={"limit": limit}), "leaderboard")

    def my_standing(self) -> dict | None:
        """My leaderboard row (rank, value, pnl, cash, shares) wherever I rank; None before I am listed."""
        return self.request("GET", "/leaderboard", params={"limit": 1}).get("me")

    # ---- bots API --------------------------------------------------------------------

    def create_bot(self, rule: dict, name: str | None = None) -> dict:
        body: dict[str, Any] = {"rule": rule}
        if name is not None:
            body["name"] = name
        return self.request("POST", "/bots", json=body)

    def bots(self, page_size: int | None = None) -> list[dict]:
        """Every bot of mine, newest first, read a page at a time."""
        return list(self.pages("/bots", "bots", limit=page_size))

    def bots_page(self, limit: int | None = None, cursor: str | None = None) -> dict:
        """{"bots": [...] newest first, "next_cursor": pass it back for the next page, None after the last}"""
        return self.request("GET", "/bots", params={"limit": limit, "cursor": cursor})

    def bot(self, bot_id: str) -> dict:
        return self.request("GET", f"/bots/{bot_id}")

    def stop_bot(self, bot_id: str) -> dict:
        return self.request("DELETE", f"/bots/{bot_id}")


def _listed(body: Any, key: str) -> list[dict]:
    """A list endpoint's rows, whether it answers a bare list or {key: [...]}."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        if isinstance(body.get(key), list):
            return body[key]
        for value in body.values():
            if isinstance(value, list):
                return value
    return []
