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

from collections.abc import Callable
from functools import partial

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
    skip_hooks_when_placing_orders(app, limiter)
    if settings.registration_rate_limit:
        registration = limiter.limit(settings.registration_rate_limit, key_func=address_key,
                                     scope="registration", override_defaults=False)
        app.view_functions[REGISTER_ENDPOINT] = registration(app.view_functions[REGISTER_ENDPOINT])  # type: ignore[assignment]
    # The book's state hash reads every resting order in one script: Redis is busy meanwhile.
    hashes = limiter.limit(BOOK_HASH_LIMIT, key_func=address_key, scope="book_hash", override_defaults=False)
    # (Flask-Limiter's decorator is typed for async views too; these are sync.)
    app.view_functions[BOOK_HASH_ENDPOINT] = hashes(app.view_functions[BOOK_HASH_ENDPOINT])  # type: ignore[assignment]
    return limiter


def skip_hooks_when_placing_orders(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter's three request hooks still run on a request its filter lets through: they
    find the endpoint's limits, keep a per-request context and clear it, about 40 µs of CPU per
    request (a bare Flask app: 173 against 132 µs). On the endpoints that place orders, the hot
    path, they are not called at all. The filter stays: it is what keeps those endpoints out of
    the limits, and this only saves the work around it. A Flask-Limiter whose hooks are not found
    here stops the app from starting, rather than quietly costing the CPU again."""
    hook_lists = ((app.before_request_funcs[None], False), (app.after_request_funcs[None], True),
                  (app.teardown_request_funcs[None], False))
    for hooks, returns_response in hook_lists:
        owned = [index for index, hook in enumerate(hooks) if _is_hook_of(limiter, hook)]
        if len(owned) != 1:
            raise RuntimeError(f"expected one Flask-Limiter hook in {hooks}, found {len(owned)}")
        hooks[owned[0]] = _unless_placing_orders(hooks[owned[0]], returns_response)


def _is_hook_of(limiter: Limiter, hook: Callable) -> bool:
    """A bound method of ``limiter``, or a partial over one of its class's functions (its after-request hook)."""
    return getattr(hook, "__self__", None) is limiter or (isinstance(hook, partial) and hook.args[:1] == (limiter,))


def _unless_placing_orders(hook: Callable, returns_response: bool) -> Callable:
    def skipping(*args):
        if request.endpoint in PLACE_ORDER_ENDPOINTS:
            return args[0] if returns_response else None
        return hook(*args)
    return skipping
