"""Per-requester rate limits (Flask-Limiter, counters in Redis so every replica shares them).

A requester is the user its bearer token names when the token is valid, else its
address (nginx's X-Real-IP, else the peer's): keying on whatever token a request
sends would give every junk token a fresh budget, and the logins, registrations
and scans behind them none at all. RATE_LIMIT takes Flask-Limiter's syntax
("100/second;3000/minute"); empty turns it off.

Registrations have their own, much lower limit per address whatever the token,
REGISTRATION_RATE_LIMIT ("20/hour"; empty turns it off): each one hashes a
password and opens an account with starting cash and shares.
"""
from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from exchange import keys
from exchange.config import Settings
from orderbook.errors import ApiError
from orderbook.services import token_check

REGISTER_ENDPOINT = "users.register"


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
        raise ApiError(429, "rate_limited", f"too many requests: the limit is {limit.limit}")

    limiter = Limiter(requester_key, app=app, default_limits=[settings.rate_limit] if settings.rate_limit else [],
                      storage_uri=settings.redis_url, key_prefix=keys.rate_limit_prefix(),
                      strategy="fixed-window", headers_enabled=True, on_breach=breached,
                      default_limits_exempt_when=lambda: request.path.endswith("/healthz"))
    if settings.registration_rate_limit:
        registration = limiter.limit(settings.registration_rate_limit, key_func=address_key,
                                     scope="registration", override_defaults=False)
        app.view_functions[REGISTER_ENDPOINT] = registration(app.view_functions[REGISTER_ENDPOINT])
    return limiter
