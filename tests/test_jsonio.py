"""The API's JSON provider (orjson) gives the same JSON the standard library would."""
from __future__ import annotations

import json
from decimal import Decimal

from flask import Flask, jsonify, request

from orderbook.jsonio import OrjsonProvider


def make_app() -> Flask:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.json.sort_keys = False

    @app.post("/echo")
    def echo():
        return jsonify(request.get_json(silent=True, force=True))

    @app.get("/odd")
    def odd():
        return jsonify({"price": Decimal("12.30"), "huge": 2**70, 3: "int key", "text": "prix: 5 €"})

    return app


def test_responses_and_bodies_round_trip():
    client = make_app().test_client()
    body = {"symbol": "KRYP", "side": "buy", "price": "10.00", "quantity": 3, "nested": [1, {"a": None}]}
    resp = client.post("/echo", data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 200 and json.loads(resp.data) == body
    assert list(json.loads(resp.data)) == list(body), "key order is kept"


def test_types_orjson_refuses_still_serialise():
    resp = make_app().test_client().get("/odd")
    assert resp.status_code == 200
    assert json.loads(resp.data) == {"price": "12.30", "huge": 2**70, "3": "int key", "text": "prix: 5 €"}


def test_bad_bodies_read_as_no_json():
    client = make_app().test_client()
    for raw in (b"{", b'{"a": NaN}', b"[" * 5000 + b"]" * 5000, b'"\\ud800"'):
        resp = client.post("/echo", data=raw, content_type="application/json")
        assert resp.status_code == 200 and resp.data.strip() == b"null", raw[:20]
