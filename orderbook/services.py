"""The objects a request needs, built once per process by create_app."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

import redis
from flask import current_app, g, request

from exchange import mongo, redis_client
from exchange.config import Settings
from exchange.scripts import Scripts
from ledger.accounts import Accounts
from ledger.history import History
from ledger.leaderboard import Leaderboard
from ledger.record import LedgerOfRecord
from orderbook.api_keys import ApiKeys
from orderbook.auth import Auth
from orderbook.entry import OrderEntry
from orderbook.errors import ApiError
from orderbook.market import MarketData
from ticker.store import CandleStore


@dataclass
class Services:
    settings: Settings
    redis: redis.Redis
    accounts: Accounts
    auth: Auth
    api_keys: ApiKeys
    entry: OrderEntry
    market: MarketData
    ledger: LedgerOfRecord
    history: History
    candles: CandleStore
    leaderboard: Leaderboard

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        client = redis_client.connect(settings, max_connections=256, health_check_interval=30)
        scripts = Scripts(client)
        accounts = Accounts(client, scripts)
        db = mongo.database(settings.mongo_url, settings.mongo_db)
        history = History(db)
        return cls(settings=settings, redis=client, accounts=accounts,
                   auth=Auth(settings, client, db, accounts), api_keys=ApiKeys(settings, client),
                   entry=OrderEntry(settings, client, accounts, scripts, history),
                   market=MarketData(client, scripts, settings.symbols, settings.maker_fee_bps,
                                     settings.taker_fee_bps),
                   ledger=LedgerOfRecord(mongo.client(settings.mongo_url), db), history=history,
                   candles=CandleStore(client, db, scripts),
                   leaderboard=Leaderboard(client, db, settings.symbols, settings.leaderboard_max_age_s))


API_KEY_HEADER = "X-API-Key"


def services() -> Services:
    return current_app.extensions["exchange"]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>' (POST /api/v1/sessions)")
    return token.strip()


def token_check() -> tuple[str | None, ApiError | None]:
    """(the user the request's bearer token or API key signature names, None) or (None, why
    not): checked once per request, since both the rate limiter and login_required ask. A
    signed request leaves its key's scopes in g.api_scopes (orderbook.api_keys)."""
    if "token_check" not in g:
        try:
            g.token_check = (_signed_user() if API_KEY_HEADER in request.headers
                             else services().auth.user_for(bearer_token()), None)
        except ApiError as error:
            g.token_check = (None, error)
    return g.token_check


def _signed_user() -> str:
    headers = request.headers
    raw_uri = request.environ.get("RAW_URI") or request.full_path.rstrip("?")  # the path and query as sent
    user_id, g.api_scopes = services().api_keys.verify(
        headers[API_KEY_HEADER], headers.get("X-API-Timestamp", ""), headers.get("X-API-Signature", ""),
        request.method, raw_uri, request.get_data())
    return user_id


def login_required(view):
    """Resolves the bearer token or the API key's signature to g.user_id before the view runs;
    an API key must have the scope the method needs (read for GET, trade for the rest)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        user_id, error = token_check()
        if error is not None:
            raise error
        needed = "read" if request.method in ("GET", "HEAD") else "trade"
        if "api_scopes" in g and needed not in g.api_scopes:
            raise ApiError(403, "insufficient_scope", f"this API key lacks the {needed!r} scope")
        g.user_id = user_id
        return view(*args, **kwargs)
    return wrapper


def bearer_required(view):
    """For what only the account's owner at the page may do (manage API keys): no API key."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if API_KEY_HEADER in request.headers:
            raise ApiError(403, "bearer_token_required", "API keys are managed with a bearer token "
                           "(POST /api/v1/sessions), not with an API key")
        return view(*args, **kwargs)
    return wrapper

