"""The HTTP ceiling bench/http_orders.py compares against: a minimal Flask JSON endpoint, one Redis call.

Served by gunicorn's gthread worker, 2 x 8 per replica (bench/ping_gunicorn.py, fixed whatever
serves the API), with the API's replica count behind the same nginx template.
"""
from __future__ import annotations

import redis
from flask import Flask, jsonify

from exchange.config import Settings


def create_app() -> Flask:
    settings = Settings.from_env()
    client = redis.Redis.from_url(settings.redis_url)
    app = Flask(__name__)

    @app.post("/api/v1/ping")
    def ping():
        return jsonify({"count": client.incr("bench:ping")}), 201

    return app
