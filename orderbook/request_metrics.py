"""Metrics of the API's requests: one count per answer, by route (the URL rule, not the path, so
ids do not make a series each), method and status."""
from __future__ import annotations

from flask import Flask, request

from exchange.metrics import REQUESTS


def init_app(app: Flask) -> None:
    @app.after_request
    def _count_request(response):
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        return response
