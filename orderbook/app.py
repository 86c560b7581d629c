"""The orderbook REST API's Flask app; ``python -m orderbook.serve`` serves it (orderbook/serve.py)."""
from __future__ import annotations

from flask import Flask, jsonify

from exchange import mongo
from exchange.config import Settings
from orderbook import errors, openapi, ratelimit, request_ids, request_metrics
from orderbook.api import BLUEPRINTS
from orderbook.jsonio import OrjsonProvider
from orderbook.services import Services

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.json.sort_keys = False
    services = Services.build(settings)
    mongo.ensure_indexes_soon(services.auth.db)
    app.extensions["exchange"] = services
    errors.register(app)
    request_ids.init_app(app)
    request_metrics.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint, url_prefix=API_PREFIX)
    ratelimit.init_app(app, settings)

    document = openapi.document(settings.symbols)

    @app.get(f"{API_PREFIX}/openapi.json")
    def openapi_document():
        return jsonify(document)

    return app
