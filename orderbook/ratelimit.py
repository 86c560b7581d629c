"""Per-client rate limits (Flask-Limiter, counters in Redis so every replica shares them).

A client is its bearer token when it sends one, else its address. RATE_LIMIT
takes Flask-Limiter's syntax ("100/second;3000/minute"); empty turns it off.
"""
from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from exchange import keys
from exchange.config import Settings
from orderbook.errors import ApiError


def client_key() -> str:
    header = request.headers.get("Authorization", "")
    if header:
        return "t:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "a:" + (request.headers.get("X-Real-IP") or get_remote_address())


def init_app(app: Flask, settings: Settings) -> Limiter | None:
    if not settings.rate_limit:
        return None

    def breached(limit) -> None:
        raise ApiError(429, "rate_limited", f"too many requests: the limit is {limit.limit}")

    return Limiter(client_key, app=app, default_limits=[settings.rate_limit], storage_uri=settings.redis_url,
                   key_prefix=keys.rate_limit_prefix(), strategy="fixed-window", headers_enabled=True,
                   on_breach=breached, default_limits_exempt_when=lambda: request.path.endswith("/healthz"))
