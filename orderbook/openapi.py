"""The OpenAPI document, built from the pydantic request models and the route table."""
from __future__ import annotations

from bots.rules import schema as rule_schema
from orderbook.schemas import AmendOrderBody, Credentials, PlaceOrder, Registration

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}


class BotBody:
    """POST /bots's body: a rule (its own JSON Schema, an embedded resource with its $id) and a name."""

    @staticmethod
    def model_json_schema() -> dict:
        return {"type": "object", "required": ["rule"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 64}, "rule": rule_schema()}}


# path -> method -> (summary, request model or None, authenticated)
ROUTES = {
    "/users": {"post": ("Register (a password of at least 8 characters); returns a bearer token", Registration,
                        False)},
    "/sessions": {"post": ("Log in; returns a bearer token. 429 with Retry-After after 10 failures for a "
                           "username in 15 minutes", Credentials, False),
                  "delete": ("Revoke the token used", None, True)},
    "/orders": {"post": ("Place an order; the response shows its fills", PlaceOrder, True),
                "get": ("List my orders (?status=open|all&symbol=&limit=)", None, True),
                "delete": ("Cancel all my open orders (?symbol=)", None, True)},
    "/orders/{order_id}": {"get": ("One of my orders, with its fills", None, True),
                           "patch": ("Reduce an order's quantity, keeping its priority", AmendOrderBody, True),
                           "delete": ("Cancel an order", None, True)},
    "/account": {"get": ("My balances: available and on hold", None, True)},
    "/fills": {"get": ("My fills, newest first (?symbol=&limit=), from the ledger of record", None, True)},
    "/balance/{user_id}": {"get": ("My cash (own account only)", None, True)},
    "/holdings/{symbol}/{user_id}": {"get": ("My shares of a symbol (own account only)", None, True)},
    "/symbols": {"get": ("Listed symbols", None, False)},
    "/book/{symbol}": {"get": ("Aggregated L2 book (?depth=) with its sequence", None, False)},
    "/ticker/{symbol}": {"get": ("Best bid/ask, spread, mid, last, sequence", None, False)},
    "/candles/{symbol}": {"get": ("OHLCV candles, oldest first (?interval=1m|5m|15m|1h|1d&start=&end=&limit=)",
                                  None, False)},
    "/trades/{symbol}": {"get": ("Recent trades, newest first (?limit=)", None, False)},
    "/healthz": {"get": ("Liveness", None, False)},
    "/bots": {"post": ("Store a rule bot (bots/rules/schema.json); it starts waiting", BotBody, True),
              "get": ("List my bots", None, True)},
    "/bots/{bot_id}": {"get": ("One of my bots: status, step, last action", None, True),
                       "delete": ("Stop one of my bots; it never acts again", None, True)},
    "/leaderboard": {"get": ("Every account marked to market at last prices, by value (?limit=): rank, username, "
                             "value, P&L; with a token my own row also shows my cash and shares (and comes as "
                             "`me`). Recomputed at most every few seconds", None, False)},
}


def document() -> dict:
    paths: dict = {}
    for path, methods in ROUTES.items():
        for method, (summary, model, authenticated) in methods.items():
            op: dict = {"summary": summary, "responses": {
                "200": {"description": "OK"},
                "4XX": {"description": "Error", "content": {"application/json": {"schema": ERROR}}}}}
            params = [{"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
                      for p in path.split("/") if p.startswith("{")]
            if params:
                op["parameters"] = params
            if model is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": model.model_json_schema()}}}
            if authenticated:
                op["security"] = [{"bearer": []}]
            paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Exchange REST API", "version": "1",
                 "description": "Prices and cash are decimal strings in dollars (\"12.34\"); quantities are "
                                "integer shares. Errors are {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
