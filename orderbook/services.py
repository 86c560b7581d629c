"""The objects a request needs, built once per process by create_app."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

import redis
from flask import current_app, g, request

from exchange import mongo
from exchange.config import Settings
from exchange.scripts import Scripts
from ledger.accounts import Accounts
from ledger.history import History
from ledger.leaderboard import Leaderboard
from ledger.record import LedgerOfRecord
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
    entry: OrderEntry
    market: MarketData
    ledger: LedgerOfRecord
    history: History
    candles: CandleStore
    leaderboard: Leaderboard

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        client = redis.Redis.from_url(settings.redis_url, max_connections=256, health_check_interval=30)
        scripts = Scripts(client)
        accounts = Accounts(client, scripts)
        db = mongo.database(settings.mongo_url, settings.mongo_db)
        history = History(db)
        return cls(settings=settings, redis=client, accounts=accounts,
                   auth=Auth(settings, client, db, accounts),
                   entry=OrderEntry(settings, client, accounts, scripts, history),
                   market=MarketData(client, scripts, settings.symbols),
                   ledger=LedgerOfRecord(mongo.client(settings.mongo_url), db), history=history,
                   candles=CandleStore(client, db, scripts),
                   leaderboard=Leaderboard(client, db, settings.symbols, settings.leaderboard_max_age_s))


def services() -> Services:
    return current_app.extensions["exchange"]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>' (POST /api/v1/sessions)")
    return token.strip()


def token_check() -> tuple[str | None, ApiError | None]:
    """(the user the request's bearer token names, None) or (None, why not): checked
    once per request, since both the rate limiter and login_required ask."""
    if "token_check" not in g:
        try:
            g.token_check = (services().auth.user_for(bearer_token()), None)
        except ApiError as error:
            g.token_check = (None, error)
    return g.token_check


def login_required(view):
    """Resolves the bearer token to g.user_id before the view runs."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        user_id, error = token_check()
        if error is not None:
            raise error
        g.user_id = user_id
        return view(*args, **kwargs)
    return wrapper

