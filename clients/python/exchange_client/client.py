"""A client for the exchange's REST API: every endpoint under /api/v1, as a user's own program uses it.

Prices and cash cross the wire as decimal strings ("12.34"); convert them with
``exchange_client.money`` (``to_cents`` / ``from_cents``), never with floats.
Every non-2xx answer raises ``ApiError`` with the server's error code; a 429 is
``rate_limited``. A network failure or a reply that is not JSON is an ``ApiError``
too (codes ``connection_error``, ``http_<status>``), so a program's loop needs to
catch one exception type only.

A 429 or 503 that says ``Retry-After`` is waited out and retried (up to ``max_retries``
times, each wait at most ``max_retry_wait_s``) when a retry is safe: reads, and a new
order only when it carries a ``client_order_id`` (the exchange gives a repeated id the
one order it placed). Anything else raises at once.
"""
from __future__ import annotations

import hashlib
import hmac
import json as jsonlib
import time
from collections.abc import Iterator
from typing import Any

import requests

from .types import Account, AccountFill, ApiKey, Book, Candle, Order, Session, SymbolInfo, Ticker, Trade

API_PREFIX = "/api/v1"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds the server asked to wait (Retry-After), if it did


def _retry_after(reply: requests.Response) -> float | None:
    try:
        return max(0.0, float(reply.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None  # absent, or an HTTP date (the exchange sends seconds)


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
                 api_key: str | None = None, api_secret: str | None = None, max_retries: int = 3,
                 max_retry_wait_s: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.max_retries, self.max_retry_wait_s = max_retries, max_retry_wait_s
        self.token = token
        self.api_key, self.api_secret = api_key, api_secret
        self.user_id: str | None = None
        self.username: str | None = None
        self.timeout = timeout
        self.session = requests.Session()

    # ---- transport -------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                retry: bool | None = None) -> Any:
        """The answer's JSON. ``retry`` (default: only for GET) waits out a 429 or 503's Retry-After."""
        retry = method == "GET" if retry is None else retry
        for attempt in range(self.max_retries + 1):
            try:
                return self._send(method, path, json, params)
            except ApiError as error:
                wait = error.retry_after
                if (not retry or error.status not in (429, 503) or wait is None or wait > self.max_retry_wait_s
                        or attempt == self.max_retries):
                    raise
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, json: Any, params: dict | None) -> Any:
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
        wait = _retry_after(reply)
        if isinstance(error, dict) and "code" in error:
            raise ApiError(reply.status_code, str(error["code"]), str(error.get("message", "")), wait)
        if reply.status_code == 429:
            raise ApiError(429, "rate_limited", reply.text[:200], wait)
        raise ApiError(reply.status_code, f"http_{reply.status_code}", reply.text[:200], wait)

    # ---- accounts --------------------------------------------------------------------

    def _signed_in(self, body: Session) -> Session:
        self.token = body["token"]
        self.user_id = body["user_id"]
        self.username = body.get("username")
        return body

    def register(self, username: str, password: str) -> Session:
        return self._signed_in(self.request("POST", "/users", json={"username": username, "password": password}))

    def login(self, username: str, password: str) -> Session:
        return self._signed_in(self.request("POST", "/sessions", json={"username": username, "password": password}))

    def logout(self) -> None:
        """Revoke this client's bearer token everywhere (its Socket.IO sessions end too)."""
        self.request("DELETE", "/sessions")
        self.token = None

    def create_api_key(self, scopes: list[str], label: str | None = None) -> ApiKey:
        """{"key_id", "secret", "scopes", "label", "created_at"}: the secret is shown this once."""
        return self.request("POST", "/api-keys", json={"scopes": scopes, "label": label})

    def api_keys(self) -> list[ApiKey]:
        return self.request("GET", "/api-keys")["api_keys"]

    def revoke_api_key(self, key_id: str) -> None:
        self.request("DELETE", f"/api-keys/{key_id}")

    def account(self) -> Account:
        """{"user_id", "balances": {"USD": {"available": "1.00", "on_hold": "0.00"}, SYMBOL: {...ints}}}"""
        return self.request("GET", "/account")

    def balance(self, user_id: str | None = None) -> dict:
        """My cash (the seed's GET /balance/{user_id}: my own account only)."""
        return self.request("GET", f"/balance/{user_id or self.user_id}")

    def holdings(self, symbol: str, user_id: str | None = None) -> dict:
        """My shares of one symbol (GET /holdings/{symbol}/{user_id}: my own account only)."""
        return self.request("GET", f"/holdings/{symbol}/{user_id or self.user_id}")

    # ---- orders ----------------------------------------------------------------------

    def place_order(self, symbol: str, side: str, quantity: int, *, type: str = "limit", price: str | None = None,
                    time_in_force: str = "GTC", post_only: bool = False,
                    client_order_id: str | None = None, stop_price: str | None = None) -> Order:
        """Place an order; the answer shows what matching did (its fills). Retried on a 429's
        Retry-After only with a ``client_order_id``: then a repeat can never place it twice."""
        body: dict[str, Any] = {"symbol": symbol, "side": side, "type": type, "quantity": quantity,
                                "time_in_force": time_in_force, "post_only": post_only}
        if price is not None:
            body["price"] = price
        if stop_price is not None:  # a stop or stop_limit order's trigger
            body["stop_price"] = stop_price
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        return self.request("POST", "/orders", json=body, retry=client_order_id is not None)

    def place_orders(self, orders: list[dict]) -> list[dict]:
        """Up to 20 orders in one request (each a POST /orders body), each placed as if sent alone;
        one answer per order, in order: the order, or {"error": {"code", "message"}}. Retried like
        place_order only when every order carries a client_order_id."""
        safe = all(order.get("client_order_id") for order in orders)
        return self.request("POST", "/orders/batch", json={"orders": orders}, retry=safe)["orders"]

    def order(self, order_id: str) -> Order:
        return self.request("GET", f"/orders/{order_id}")

    def amend_order(self, order_id: str, quantity: int) -> Order:
        """Cut an order's total quantity (above what has filled); it keeps its place in the queue."""
        return self.request("PATCH", f"/orders/{order_id}", json={"quantity": quantity})

    def open_orders(self, symbol: str | None = None, limit: int = 1000) -> list[Order]:
        return self.request("GET", "/orders", params={"status": "open", "symbol": symbol, "limit": limit})["orders"]

    def all_orders(self, symbol: str | None = None) -> list[Order]:
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

    def cancel_order(self, order_id: str) -> Order:
        return self.request("DELETE", f"/orders/{order_id}")

    def cancel_all(self, symbol: str | None = None) -> dict:
        return self.request("DELETE", "/orders", params={"symbol": symbol})

    def fills(self, symbol: str | None = None, limit: int = 100) -> list[AccountFill]:
        return self.request("GET", "/fills", params={"symbol": symbol, "limit": limit})["fills"]

    def fills_csv(self, symbol: str | None = None, start: int | None = None, end: int | None = None) -> str:
        """Every fill of mine as CSV, oldest first (integer cents and shares, epoch ms)."""
        params = {k: v for k, v in {"symbol": symbol, "start": start, "end": end}.items() if v is not None}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        reply = self.session.get(f"{self.base_url}{API_PREFIX}/fills.csv", params=params, headers=headers,
                                 timeout=self.timeout)
        if not reply.ok:
            raise ApiError(reply.status_code, f"http_{reply.status_code}", reply.text[:200], _retry_after(reply))
        return reply.text

    # ---- market data (public) --------------------------------------------------------

    def symbols(self) -> list[SymbolInfo]:
        return self.request("GET", "/symbols")["symbols"]

    def book(self, symbol: str, depth: int = 10) -> Book:
        """{"symbol", "sequence", "bids": [["12.34", qty], ...] best first, "asks": [...]}"""
        return self.request("GET", f"/book/{symbol}", params={"depth": depth})

    def book_hash(self, symbol: str) -> dict:
        """{"symbol", "sequence", "hash"}: the SHA-256 of every resting order, as a replay gives it."""
        return self.request("GET", f"/book/{symbol}/hash")

    def ticker(self, symbol: str) -> Ticker:
        return self.request("GET", f"/ticker/{symbol}")

    def candles(self, symbol: str, interval: str = "1m", start: int | None = None, end: int | None = None,
                limit: int | None = None) -> list[Candle]:
        """OHLCV candles, oldest first; ``start``/``end`` in epoch seconds; 1s covers the last ten minutes."""
        params = {"interval": interval, "start": start, "end": end, "limit": limit}
        return self.request("GET", f"/candles/{symbol}", params=params)["candles"]

    def health(self, deep: bool = False) -> dict:
        """The exchange's health; ``deep`` adds every worker's heartbeat and lag (a 503 raises)."""
        return self.request("GET", "/healthz", params={"deep": 1 if deep else None})

    def trades(self, symbol: str, limit: int = 100) -> list[Trade]:
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
