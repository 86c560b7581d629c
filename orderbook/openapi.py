"""The OpenAPI document, built from the pydantic request models and the route table."""
from __future__ import annotations

from typing import Any, NamedTuple

from bots.rules import schema as rule_schema
from orderbook.queries import (
    BookQuery,
    BotsQuery,
    CancelAllQuery,
    CandleQuery,
    FillsExportQuery,
    FillsQuery,
    HealthQuery,
    LeaderboardQuery,
    OrdersQuery,
    Query,
    StatsQuery,
    TradesQuery,
    parameter_schemas,
)
from orderbook.schemas import MAX_BATCH_ORDERS, AmendOrderBody, CreateApiKey, Credentials, PlaceOrder, Registration

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}


# A signed request sends all three headers (orderbook/api_keys.py).
SIGNED: dict[str, list[str]] = {"apiKey": [], "apiTimestamp": [], "apiSignature": []}
SIGNING = ("API key auth: X-API-Key (the key id), X-API-Timestamp (epoch ms, within 30 s) and X-API-Signature "
           "(hex HMAC-SHA256 of timestamp + method + path with query + body, keyed with the key's secret). A "
           "read key may GET; trade may also place, amend and cancel")


class BotBody:
    """POST /bots's body: a rule (its own JSON Schema, an embedded resource with its $id) and a name."""

    @staticmethod
    def model_json_schema() -> dict:
        return {"type": "object", "required": ["rule"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 64}, "rule": rule_schema()}}


class PlaceOrdersBody:
    """POST /orders/batch's body: up to MAX_BATCH_ORDERS orders, each one POST /orders's body."""

    @staticmethod
    def model_json_schema() -> dict:
        return {"type": "object", "required": ["orders"], "additionalProperties": False,
                "properties": {"orders": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH_ORDERS,
                                          "items": PlaceOrder.model_json_schema()}}}


class Operation(NamedTuple):
    summary: str
    body: Any = None  # the request body's model (a pydantic model, or a class with model_json_schema)
    query: type[Query] | None = None  # the query string's model
    authenticated: bool = False
    api_key: bool = True  # an authenticated operation also takes a signed API key request


ROUTES = {
    "/users": {"post": Operation("Register (a password of at least 8 characters); returns a bearer token",
                                 Registration)},
    "/sessions": {"post": Operation("Log in; returns a bearer token. 429 with Retry-After after 10 failures for "
                                    "a username in 15 minutes", Credentials),
                  "delete": Operation("Revoke the token used", authenticated=True)},
    "/api-keys": {"post": Operation("Make an API key (scopes read, trade); its secret is in this answer only",
                                    CreateApiKey, authenticated=True, api_key=False),
                  "get": Operation("My API keys (never their secrets)", authenticated=True, api_key=False)},
    "/api-keys/{key_id}": {"delete": Operation("Revoke one of my API keys", authenticated=True, api_key=False)},
    "/orders": {"post": Operation("Place an order; the response shows its fills", PlaceOrder, authenticated=True),
                "get": Operation("My open orders, or (status=all) every order I ever placed: a page, newest "
                                 "first, with next_cursor (null on the last page)", query=OrdersQuery,
                                 authenticated=True),
                "delete": Operation("Cancel all my open orders", query=CancelAllQuery, authenticated=True)},
    "/orders/batch": {"post": Operation(
        f"Place up to {MAX_BATCH_ORDERS} orders, each as if sent alone, in the order given; `orders` answers each "
        "in turn: the order as POST /orders shows it, or its own error. One bad order fails alone",
        PlaceOrdersBody, authenticated=True)},
    "/orders/{order_id}": {
        "get": Operation("One of my orders, with its fills", authenticated=True),
        "patch": Operation("Reduce an order's quantity, keeping its priority", AmendOrderBody, authenticated=True),
        "delete": Operation("Cancel an order", authenticated=True)},
    "/account": {"get": Operation("My balances: available and on hold", authenticated=True)},
    "/fills": {"get": Operation("My fills, newest first, from the ledger of record: a page with next_cursor "
                                "(null on the last page)", query=FillsQuery, authenticated=True)},
    "/fills.csv": {"get": Operation("My fills as CSV, oldest first, streamed: integer cents and shares, times in "
                                    "epoch ms (the columns of `python -m exchange.export fills`)",
                                    query=FillsExportQuery, authenticated=True)},
    "/balance/{user_id}": {"get": Operation("My cash (own account only)", authenticated=True)},
    "/holdings/{symbol}/{user_id}": {"get": Operation("My shares of a symbol (own account only)", authenticated=True)},
    "/symbols": {"get": Operation("Listed symbols")},
    "/book/{symbol}": {"get": Operation("Aggregated L2 book with its sequence", query=BookQuery)},
    "/book/{symbol}/hash": {"get": Operation(
        "{symbol, sequence, hash}: the SHA-256 of every resting order (orderbook/book_hash.py), read atomically; "
        "`python -m orderbook replay SYMBOL --to-sequence N` gives the same from the archived journal")},
    "/ticker/{symbol}": {"get": Operation("Best bid/ask, spread, mid, last, sequence")},
    "/candles/{symbol}": {"get": Operation("OHLCV candles, oldest first", query=CandleQuery)},
    "/stats": {"get": Operation("Per symbol: returns, mean return, annualized volatility, last price; per pair: "
                                "correlation of log returns, hedge ratio and the Engle-Granger cointegration test. "
                                "Conventions in the answer; 422 insufficient_data names what is missing",
                                query=StatsQuery)},
    "/trades/{symbol}": {"get": Operation("Every trade, newest first, a page at a time with next_cursor (null on "
                                          "the last page)", query=TradesQuery)},
    "/healthz": {"get": Operation("This replica and its stores; with deep=1 every kind of worker too: heartbeat "
                                  "age and journal lag per symbol, 503 degraded when one is stale or missing",
                                  query=HealthQuery)},
    "/bots": {"post": Operation("Store a rule bot (bots/rules/schema.json); it starts waiting", BotBody,
                                authenticated=True),
              "get": Operation("List my bots, newest first, a page at a time", query=BotsQuery, authenticated=True)},
    "/bots/{bot_id}": {"get": Operation("One of my bots: status, step, last action", authenticated=True),
                       "delete": Operation("Stop one of my bots; it never acts again", authenticated=True)},
    "/leaderboard": {"get": Operation("Every account marked to market at last prices, by value: rank, username, "
                                      "value, P&L; with a token my own row also shows my cash and shares (and "
                                      "comes as `me`). Recomputed at most every few seconds", query=LeaderboardQuery)},
}


def _parameters(path: str, operation: Operation, symbols: tuple[str, ...]) -> list[dict]:
    """Every path and query parameter; a symbol is one of the listed ones."""
    def schema_of(name: str, schema: dict) -> dict:
        return {**schema, "enum": list(symbols)} if name == "symbol" else schema

    parameters = [{"name": name, "in": "path", "required": True, "schema": schema_of(name, {"type": "string"})}
                  for name in (part.strip("{}") for part in path.split("/") if part.startswith("{"))]
    if operation.query is not None:
        parameters += [{"name": name, "in": "query", "required": False, "schema": schema_of(name, schema)}
                       for name, schema in parameter_schemas(operation.query).items()]
    return parameters


# Each path's tag in the docs (/api/docs), by its first segment.
TAGS = {"users": "accounts", "sessions": "accounts", "api-keys": "accounts", "account": "accounts",
        "balance": "accounts", "holdings": "accounts", "orders": "orders", "fills": "orders", "fills.csv": "orders",
        "symbols": "market data", "book": "market data", "ticker": "market data", "candles": "market data",
        "trades": "market data", "stats": "market data", "leaderboard": "market data", "bots": "bots",
        "healthz": "operations"}


def operation_id(method: str, path: str) -> str:
    """e.g. DELETE /orders/{order_id} -> delete_orders_by_order_id."""
    words = [f"by_{part.strip('{}')}" if part.startswith("{") else part for part in path.strip("/").split("/")]
    return "_".join([method, *words]).replace("-", "_").replace(".", "_")


def _operation(path: str, method: str, operation: Operation, symbols: tuple[str, ...]) -> dict:
    described: dict = {"operationId": operation_id(method, path), "tags": [TAGS[path.strip("/").split("/")[0]]],
                       "summary": operation.summary, "responses": {
        "200": {"description": "OK"},
        "4XX": {"description": "Error", "content": {"application/json": {"schema": ERROR}}}}}
    parameters = _parameters(path, operation, symbols)
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": operation.body.model_json_schema()}}}
    if operation.authenticated:
        described["security"] = [{"bearer": []}, *([SIGNED] if operation.api_key else [])]
    return described


def document(symbols: tuple[str, ...]) -> dict:
    paths = {path: {method: _operation(path, method, operation, symbols) for method, operation in methods.items()}
             for path, methods in ROUTES.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Exchange REST API", "version": "1",
                 "description": "Prices and cash are decimal strings in dollars (\"12.34\"); quantities are "
                                "integer shares. Errors are {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, **{
            name: {"type": "apiKey", "in": "header", "name": header, "description": SIGNING}
            for name, header in (("apiKey", "X-API-Key"), ("apiTimestamp", "X-API-Timestamp"),
                                 ("apiSignature", "X-API-Signature"))}}},
        "paths": paths,
    }
