"""GET /candles: trades placed through the API, rolled by the ticker, read back per interval."""
from __future__ import annotations

import time

import pytest

from exchange import mongo
from ticker.store import CandleStore
from ticker.worker import SymbolTicker

ORDERS = "/api/v1/orders"


@pytest.fixture
def ticker(app, settings, redis_client):
    store = CandleStore(redis_client, mongo.database(settings.mongo_url, settings.mongo_db))
    return SymbolTicker(redis_client, store, "KRYP")


def trade(client, seller, buyer, price: str, quantity: int) -> None:
    client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": price, "quantity": quantity}, headers=seller)
    resp = client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": price, "quantity": quantity},
                       headers=buyer)
    assert resp.json["filled_quantity"] == quantity


def test_live_minute_candle_from_api_trades(client, register, ticker):
    alice, bob = register("alice"), register("bob")
    for price, quantity in (("10.00", 2), ("10.50", 1), ("9.75", 3), ("10.25", 1)):
        trade(client, alice, bob, price, quantity)
    ticker.run_once()
    candles = client.get("/api/v1/candles/KRYP").json["candles"]
    assert candles[-1] | {"start": 0} == {"start": 0, "open": "10.00", "high": "10.50", "low": "9.75",
                                          "close": "10.25", "volume": 7, "trades": 4}
    assert candles[-1]["start"] % 60 == 0 and time.time() - candles[-1]["start"] < 120
    seconds = client.get("/api/v1/candles/KRYP?interval=1s").json  # the ticker's recent seconds
    assert seconds["interval"] == "1s" and sum(c["volume"] for c in seconds["candles"]) == 7
    assert seconds["candles"][-1]["close"] == "10.25" and time.time() - seconds["candles"][-1]["start"] < 60


def test_closed_minutes_persist_once_and_roll_up(client, register, ticker, settings, redis_client):
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob, "10.00", 1)
    ticker.run_once()
    ticker.clock = lambda: time.time() + 120  # two minutes later: the minute is closed and persisted
    ticker.run_once()
    ticker.run_once()
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    assert db[mongo.CANDLES].count_documents({"symbol": "KRYP"}) == 1
    one = client.get("/api/v1/candles/KRYP?interval=1m").json["candles"]
    hourly = client.get("/api/v1/candles/KRYP?interval=1h").json["candles"]
    assert [(c["open"], c["volume"]) for c in one] == [("10.00", 1)]
    assert [(c["open"], c["volume"]) for c in hourly] == [("10.00", 1)] and hourly[0]["start"] % 3600 == 0


@pytest.mark.parametrize("query, status, code", [
    ("interval=2m", 400, "invalid_parameter"),
    ("start=200&end=100", 400, "invalid_range"),
    ("start=0&end=99999999&interval=1m", 400, "range_too_large"),
    ("limit=0", 400, "invalid_parameter"),
    ("limit=5000", 400, "invalid_parameter"),
    ("start=-5", 400, "invalid_parameter"),
    ("end=abc", 400, "invalid_parameter"),
])
def test_bad_candle_queries(client, query, status, code):
    resp = client.get(f"/api/v1/candles/KRYP?{query}")
    assert resp.status_code == status and resp.json["error"]["code"] == code


def test_unknown_symbol_candles(client):
    resp = client.get("/api/v1/candles/NOPE")
    assert resp.status_code == 404 and resp.json["error"]["code"] == "unknown_symbol"


def test_ticker_reports_24h_volume_and_change(client, register, ticker):
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob, "10.00", 2)
    trade(client, alice, bob, "10.40", 3)
    ticker.run_once()
    quote = client.get("/api/v1/ticker/KRYP").json
    assert (quote["last"], quote["volume_24h"], quote["open_24h"], quote["change_24h"]) == ("10.40", 5, "10.00", "0.40")


def test_live_feed_publishes_each_update_once_on_the_web_tiers_queue(app, client, register, settings, redis_client):
    import json

    from exchange.rooms import QUEUE_CHANNEL
    from ticker.feed import LiveFeed

    store = CandleStore(redis_client, mongo.database(settings.mongo_url, settings.mongo_db))
    feed = LiveFeed(settings.redis_url)
    replicas = [SymbolTicker(redis_client, store, "KRYP", feed=feed) for _ in range(2)]
    listener = redis_client.pubsub()
    listener.subscribe(QUEUE_CHANNEL)
    listener.get_message(timeout=1)  # the subscribe confirmation
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob, "10.00", 2)
    for replica in replicas:  # both replicas run; only one rolls the batch, only one holds the flusher lease
        replica.run_once()
    messages = []
    while (message := listener.get_message(timeout=0.5)) is not None:
        messages.append(json.loads(message["data"]))
    events = sorted((m["event"], m["room"]) for m in messages)
    assert events == [("candle", "KRYP:candles"), ("ticker", "KRYP:ticker")]  # straight to each channel's room
    candle = next(m["data"] for m in messages if m["event"] == "candle")
    candle = candle[0]  # python-socketio sends the emit's arguments as a list
    assert (candle["symbol"], candle["interval"], candle["open"], candle["volume"]) == ("KRYP", "1m", "10.00", 2)
    listener.close()
