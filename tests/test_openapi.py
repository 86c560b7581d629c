"""The OpenAPI document describes every route, method, path and query parameter the API reads."""
from __future__ import annotations

import re

from jsonschema import Draft202012Validator

QUERY_PARAMETERS = {
    ("/orders", "get"): {"status", "symbol", "limit", "cursor", "start", "end"},
    ("/orders", "delete"): {"symbol"},
    ("/fills", "get"): {"symbol", "limit", "cursor", "start", "end"},
    ("/fills.csv", "get"): {"symbol", "start", "end"},
    ("/book/{symbol}", "get"): {"depth"},
    ("/trades/{symbol}", "get"): {"limit", "cursor", "start", "end"},
    ("/candles/{symbol}", "get"): {"interval", "start", "end", "limit"},
    ("/leaderboard", "get"): {"limit"},
    ("/bots", "get"): {"limit", "cursor"},
    ("/healthz", "get"): {"deep"},
    ("/stats", "get"): {"symbols", "interval", "window", "series"},
}


def test_every_route_and_method_of_the_app_is_documented(app, client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("/openapi.json"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        routed |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, methods in paths.items() for method in methods}
    assert documented == routed


def test_every_path_and_query_parameter_is_documented_with_its_schema(client, settings):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            parameters = operation.get("parameters", [])
            in_path = {p["name"] for p in parameters if p["in"] == "path"}
            assert in_path == set(re.findall(r"{([^}]+)}", path)), (path, method)
            in_query = {p["name"] for p in parameters if p["in"] == "query"}
            assert in_query == QUERY_PARAMETERS.get((path, method), set()), (path, method)
            for parameter in parameters:
                Draft202012Validator.check_schema(parameter["schema"])
            assert operation["tags"] and operation["operationId"]
    ids = [operation["operationId"] for methods in paths.values() for operation in methods.values()]
    assert len(ids) == len(set(ids)) and {"cancel_order", "place_order", "fills_csv"} <= set(ids)
    depth = paths["/book/{symbol}"]["get"]["parameters"][1]["schema"]
    assert (depth["type"], depth["minimum"], depth["maximum"], depth["default"]) == ("integer", 1, 500, 50)
    interval = paths["/candles/{symbol}"]["get"]["parameters"][1]["schema"]
    assert interval["enum"] == ["1s", "1m", "5m", "15m", "1h", "1d"]
    symbol = paths["/book/{symbol}"]["get"]["parameters"][0]["schema"]
    assert symbol["enum"] == list(settings.symbols)
