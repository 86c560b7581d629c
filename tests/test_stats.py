"""GET /stats: return statistics and pair tests from the candles, checked against numpy and statsmodels."""
from __future__ import annotations

import math
import time

import numpy as np
import orjson
import pytest
from statsmodels.api import OLS, add_constant
from statsmodels.tsa.stattools import coint

from exchange import keys, mongo
from tests.openapi_schemas import answer_validator
from ticker.candles import Candle
from ticker.stats import SECONDS_PER_YEAR, Grid, InsufficientData, pair_stats, symbol_stats

WINDOW = 120


def price_paths(seed: int, n: int) -> dict[str, list[int]]:
    """Three paths in ticks: ADAM a random walk; KRYP cointegrated with it (log KRYP = 0.7 + 1.5 log ADAM
    + stationary noise); PUPS a random walk of its own."""
    rng = np.random.default_rng(seed)
    log_adam = np.log(10_000) + np.cumsum(rng.normal(0, 0.01, n))
    log_kryp = 0.7 + 1.5 * log_adam + rng.normal(0, 0.004, n)
    log_pups = np.log(5_000) + np.cumsum(rng.normal(0, 0.01, n))
    return {name: [int(round(math.exp(x))) for x in path]
            for name, path in (("ADAM", log_adam), ("KRYP", log_kryp), ("PUPS", log_pups))}


def store_minutes(settings, paths: dict[str, list[int]], last_start: int, skip: set[int] = frozenset()) -> None:
    """Persisted minute candles closing at the paths' prices, the last one at ``last_start``."""
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    n = len(next(iter(paths.values())))
    docs = [{"_id": f"{symbol}:{start}", "symbol": symbol, "start": start, "open": close, "high": close,
             "low": close, "close": close, "volume": 1, "trades": 1}
            for symbol, closes in paths.items() for i, close in enumerate(closes)
            if i not in skip for start in [last_start - (n - 1 - i) * 60]]
    db[mongo.CANDLES].insert_many(docs)


def assert_documented(client, body: dict) -> None:
    """The answer matches GET /stats's 200 schema in the OpenAPI document (tests/test_openapi_answers.py
    checks every other operation's answers against a whole stack)."""
    validator = answer_validator(client.get("/api/v1/openapi.json").json, "/stats", "get", 200)
    assert not [error.message for error in validator.iter_errors(body)]


def test_the_answer_is_numpy_and_statsmodels_on_the_same_candles(client, settings):
    paths = price_paths(seed=11, n=WINDOW)
    now = int(time.time())
    store_minutes(settings, paths, now - now % 60)
    reply = client.get(f"/api/v1/stats?symbols=kryp,ADAM,PUPS&interval=1m&window={WINDOW}")
    assert reply.status_code == 200, reply.json
    body = reply.json
    assert_documented(client, body)
    assert list(body["symbols"]) == ["KRYP", "ADAM", "PUPS"] and body["window"] == WINDOW
    for symbol, closes in paths.items():
        returns = np.diff(np.log(closes))
        figures = body["symbols"][symbol]
        assert figures["returns"] == WINDOW - 1
        assert figures["mean_return"] == pytest.approx(returns.mean(), rel=1e-9)
        assert figures["volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(SECONDS_PER_YEAR / 60), rel=1e-9)
        assert figures["last"] == f"{closes[-1] // 100}.{closes[-1] % 100:02d}"
    pairs = {tuple(pair["symbols"]): pair for pair in body["pairs"]}
    assert list(pairs) == [("KRYP", "ADAM"), ("KRYP", "PUPS"), ("ADAM", "PUPS")]
    for (a, b), pair in pairs.items():
        log_a, log_b = np.log(paths[a]), np.log(paths[b])
        assert pair["observations"] == WINDOW
        assert pair["correlation"] == pytest.approx(np.corrcoef(np.diff(log_a), np.diff(log_b))[0, 1], rel=1e-9)
        assert pair["hedge_ratio"] == pytest.approx(OLS(log_a, add_constant(log_b)).fit().params[1], rel=1e-9)
        statistic, p_value, _critical = coint(log_a, log_b)
        assert pair["cointegration"]["statistic"] == pytest.approx(statistic, rel=1e-9)
        assert pair["cointegration"]["p_value"] == pytest.approx(p_value, rel=1e-9)
        residuals = OLS(log_a, add_constant(log_b)).fit().resid
        assert pair["spread"]["z_score"] == pytest.approx(residuals[-1] / residuals.std(ddof=1), rel=1e-9)
        assert "series" not in pair["spread"]
    # The known structure shows: the built pair cointegrates with its hedge ratio; the unrelated one does not.
    assert pairs[("KRYP", "ADAM")]["cointegration"]["p_value"] < 0.01
    assert pairs[("KRYP", "ADAM")]["hedge_ratio"] == pytest.approx(1.5, abs=0.1)
    assert pairs[("KRYP", "ADAM")]["correlation"] > 0.8
    assert pairs[("ADAM", "PUPS")]["cointegration"]["p_value"] > 0.05


def test_one_second_returns_come_from_the_tickers_recent_seconds(client, redis_client):
    paths = price_paths(seed=5, n=40)
    now = int(time.time())
    for symbol, closes in paths.items():
        for i, close in enumerate(closes):  # newest first, as the ticker pushes them
            candle = {"start": now - 39 + i, "open": close, "high": close, "low": close, "close": close,
                      "volume": 1, "trades": 1}
            redis_client.lpush(keys.recent_seconds(symbol), orjson.dumps(candle))
    reply = client.get("/api/v1/stats?symbols=ADAM,KRYP&interval=1s&window=40")
    assert reply.status_code == 200, reply.json
    assert reply.json["symbols"]["ADAM"]["returns"] == 39
    log_a, log_b = np.log(paths["ADAM"]), np.log(paths["KRYP"])
    assert reply.json["pairs"][0]["correlation"] == pytest.approx(
        np.corrcoef(np.diff(log_a), np.diff(log_b))[0, 1], rel=1e-9)


def test_the_spread_series_comes_on_request(client, settings):
    paths = price_paths(seed=3, n=30)
    now = int(time.time())
    store_minutes(settings, {"KRYP": paths["KRYP"], "ADAM": paths["ADAM"]}, now - now % 60, skip={0, 1})
    reply = client.get("/api/v1/stats?symbols=KRYP,ADAM&window=30&series=1")
    assert_documented(client, reply.json)
    spread = reply.json["pairs"][0]["spread"]
    assert [start for start, _value in spread["series"]] == [reply.json["start"] + 60 * n for n in range(2, 30)]
    assert spread["series"][-1][1] == pytest.approx(spread["last"], rel=1e-12)


def test_an_interval_without_trades_keeps_the_last_close():
    candles = [Candle(start, close, close, close, close, 1, 1) for start, close in ((60, 100), (180, 110))]
    assert Grid(60, 240, 5).closes(candles) == [None, 100, 100, 110, 110]
    assert symbol_stats("KRYP", [None, 100, 100, 110, 110], 60)["returns"] == 3


def test_too_few_prices_name_what_is_missing(client, settings):
    now = int(time.time())
    store_minutes(settings, {"KRYP": [100, 101], "ADAM": [200, 201]}, now - now % 60)
    reply = client.get("/api/v1/stats?symbols=KRYP,ADAM&window=10")
    assert reply.status_code == 422 and reply.json["error"]["code"] == "insufficient_data"
    assert reply.json["error"]["message"].startswith("KRYP: 2 interval closes")
    with pytest.raises(InsufficientData, match="KRYP/ADAM: 4 interval closes where both"):
        pair_stats("KRYP", "ADAM", [1, 2, 3, 4, 5, None], [None, 2, 3, 4, 5, 6, 7])
    with pytest.raises(InsufficientData, match="the price of ADAM did not move"):
        pair_stats("KRYP", "ADAM", list(range(100, 130)), [50] * 30)


@pytest.mark.parametrize("query, code", [
    ("symbols=KRYP,NOPE", "unknown_symbol"),
    ("symbols=,", "invalid_parameter"),
    ("window=2", "invalid_parameter"),
    ("window=501", "invalid_parameter"),
    ("interval=1d", "invalid_parameter"),
])
def test_bad_parameters_are_400s(client, query, code):
    reply = client.get(f"/api/v1/stats?{query}")
    assert reply.status_code == 400 and reply.json["error"]["code"] == code
