"""Per-requester rate limits (Flask-Limiter, counters in Redis so every replica shares them).

A requester is the user its bearer token names when the token is valid, else its
address (nginx's X-Real-IP, else the peer's): keying on whatever token a request
sends would give every junk token a fresh budget, and the logins, registrations
and scans behind them none at all. RATE_LIMIT takes Flask-Limiter's syntax
("100/second"); empty turns it off. One limit per scope, checked in one round trip.
Placing an order is not counted here: the hold script counts it against
ORDER_RATE_LIMIT per user, in the round trip the order makes anyway.

Registrations have their own, much lower limit per address whatever the token,
REGISTRATION_RATE_LIMIT ("20/hour"; empty turns it off): each one hashes a
password and opens an account with starting cash and shares.
"""
from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from exchange import keys, redis_client
from exchange.config import Settings
from exchange.metrics import RATE_LIMITED
from orderbook.errors import ApiError
from orderbook.services import token_check

BOOK_HASH_ENDPOINT = "market.book_hash"
BOOK_HASH_LIMIT = "2/second"  # per client address, whatever RATE_LIMIT says
REGISTER_ENDPOINT = "users.register"
PLACE_ORDER_ENDPOINTS = frozenset({"orders.place_order", "orders.place_orders"})


def address_key() -> str:
    return "a:" + (request.headers.get("X-Real-IP") or get_remote_address())


def requester_key() -> str:
    user_id, _error = token_check()
    if user_id is not None:
        return "u:" + user_id
    return address_key()


def init_app(app: Flask, settings: Settings) -> Limiter | None:
    """After the blueprints are registered: the registration limit wraps their view."""
    if not settings.rate_limit and not settings.registration_rate_limit:
        return None

    def breached(limit) -> None:
        RATE_LIMITED.labels("request").inc()
        # Retry-After without asking Redis when the window ends: its length is always enough.
        raise ApiError(429, "rate_limited", f"too many requests: the limit is {limit.limit}",
                       {"Retry-After": str(max(1, limit.limit.get_expiry()))})

    # One counter per request (fixed window, no X-RateLimit-* headers, whose reads would cost more
    # round trips): the only Redis call a request makes before its handler's own.
    limiter = Limiter(requester_key, app=app, default_limits=[settings.rate_limit] if settings.rate_limit else [],
                      storage_uri=redis_client.limiter_storage_uri(settings), key_prefix=keys.rate_limit_prefix(),
                      strategy="fixed-window", headers_enabled=False, on_breach=breached,
                      default_limits_exempt_when=lambda: request.path.endswith("/healthz"))
    # Placing orders (one, or a batch) is limited per user and per order by the hold script
    # itself (ORDER_RATE_LIMIT), in the round trip the orders make anyway.
    # A request filter, not limiter.exempt: it is the limiter's first check, before any limit
    # is resolved.
    limiter.request_filter(lambda: request.endpoint in PLACE_ORDER_ENDPOINTS)
    if settings.registration_rate_limit:
        registration = limiter.limit(settings.registration_rate_limit, key_func=address_key,
                                     scope="registration", override_defaults=False)
        app.view_functions[REGISTER_ENDPOINT] = registration(app.view_functions[REGISTER_ENDPOINT])  # type: ignore[assignment]
    # The book's state hash reads every resting order in one script: Redis is busy meanwhile.
    hashes = limiter.limit(BOOK_HASH_LIMIT, key_func=address_key, scope="book_hash", override_defaults=False)
    # (Flask-Limiter's decorator is typed for async views too; these are sync.)
    app.view_functions[BOOK_HASH_ENDPOINT] = hashes(app.view_functions[BOOK_HASH_ENDPOINT])  # type: ignore[assignment]
    return limiter
