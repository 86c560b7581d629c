"""Bounded live state: after 20,000 orders, Redis holds what the open orders need and no history.

The orders go through order entry and the engine in this process (no HTTP), then
everything is settled, archived and, a second later, forgotten, as the ledger
worker does. Redis is then compared with a Redis that holds the same open
orders and never saw the rest.
"""
from __future__ import annotations

import random
import time
from dataclasses import replace

import pytest

from exchange import keys, mongo
from ledger import retention
from ledger.archive import JournalArchiver
from ledger.forget import forget_done_orders
from orderbook.order_batch import place_batch
from orderbook.schemas import PlaceOrder

SYMBOLS = ("KRYP", "ADAM", "PUPS")
ORDER_COUNT = 20_000
DELAY_S = 1.0
BATCH = 20


@pytest.fixture
def settings(settings):
    # Rich users, so that nothing is refused for want of cash or shares before the end.
    return replace(settings, rate_limit="", starting_cash_cents=10**11, starting_shares=10**7)


def place_flow(entry, users: list[str], rng: random.Random, count: int) -> None:
    """Batches of 20 (one hold call, one append, one match each), so 20,000 orders take seconds."""
    for _ in range(count // BATCH):
        requests = []
        for _ in range(BATCH):
            side = rng.choice(("buy", "sell"))
            offset = rng.randint(-1, 8)  # mostly passive, sometimes crossing
            ticks = 10_000 - offset * 10 if side == "buy" else 10_000 + offset * 10
            requests.append(PlaceOrder(symbol=rng.choice(SYMBOLS), side=side, quantity=rng.randint(1, 9),
                                       price=f"{ticks // 100}.{ticks % 100:02d}",
                                       time_in_force=rng.choice(("GTC", "IOC", "IOC", "IOC"))))
        answers, _headers = place_batch(entry, rng.choice(users), requests)
        assert all("error" not in a or a["error"]["code"] == "too_many_open_orders" for a in answers), answers


def settle_archive_forget(redis_client, db, settle) -> int:
    settle()
    archivers = [JournalArchiver(redis_client, s, db, wait_ms=0) for s in SYMBOLS]
    while sum(a.run_once() for a in archivers):
        pass
    for symbol in SYMBOLS:  # as a running ticker would have
        redis_client.set(keys.ticker_cursor(symbol), redis_client.xrevrange(keys.events(symbol), count=1)[0][0])
    time.sleep(DELAY_S)
    before_ms = int(time.time() * 1000) - int(DELAY_S * 1000)
    forgotten = 0
    while moved := sum(forget_done_orders(redis_client, db, s, older_than_ms=before_ms) for s in SYMBOLS):
        forgotten += moved
    for symbol in SYMBOLS:
        retention.trim(redis_client, symbol, retention_ms=0)
    for archiver in archivers:
        archiver.stop()
    return forgotten


def footprint(redis_client) -> tuple[int, int]:
    return redis_client.dbsize(), redis_client.info("memory")["used_memory"]


def resting(redis_client) -> list[dict]:
    import orjson
    return [orjson.loads(raw) for s in SYMBOLS for raw in redis_client.hvals(keys.orders(s))]


@pytest.mark.timeout(600)
def test_redis_holds_no_done_order_past_its_delay_and_returns_to_the_level_of_its_open_orders(
        app, client, register, redis_client, settings, settle):
    entry = app.extensions["exchange"].entry
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    mongo.ensure_indexes(db)
    users = [register(f"trader{i}").user_id for i in range(8)]
    place_flow(entry, users, random.Random(2026), ORDER_COUNT)
    forgotten = settle_archive_forget(redis_client, db, settle)
    open_orders = resting(redis_client)
    assert forgotten > ORDER_COUNT * 0.8 and db[mongo.ORDERS].count_documents({}) == forgotten
    assert all(order["status"] in ("new", "partially_filled") for order in open_orders)
    for symbol in SYMBOLS:
        assert redis_client.zcard(keys.done_orders(symbol)) == 0
        assert len(redis_client.hkeys(keys.orders(symbol))) == (redis_client.zcard(keys.bids(symbol))
                                                               + redis_client.zcard(keys.asks(symbol)))
    fill_lists = sum(1 for _ in redis_client.scan_iter("ob:{*}:fills:*", count=1000))
    assert fill_lists <= sum(1 for order in open_orders if order["filled_quantity"])
    assert sum(redis_client.zcard(keys.user_orders(u)) for u in users) == len(open_orders)
    after = footprint(redis_client)

    # The same open orders in a Redis that never saw anything else.
    redis_client.flushall()
    mongo.client(settings.mongo_url).drop_database(settings.mongo_db)
    fresh_users = {u: register(f"again{i}").user_id for i, u in enumerate(users)}
    by_user: dict[str, list[PlaceOrder]] = {}
    for order in sorted(open_orders, key=lambda o: o["priority"]):
        by_user.setdefault(fresh_users[order["user_id"]], []).append(PlaceOrder(
            symbol=order["symbol"], side=order["side"], price=f"{order['price'] // 100}.{order['price'] % 100:02d}",
            quantity=order["remaining_quantity"]))
    for user_id, requests in by_user.items():
        for at in range(0, len(requests), BATCH):
            answers, _headers = place_batch(entry, user_id, requests[at:at + BATCH])
            assert all(a["status"] == "new" for a in answers), answers
    settle_archive_forget(redis_client, db, settle)
    assert len(resting(redis_client)) == len(open_orders)
    baseline = footprint(redis_client)
    print(f"\nafter {ORDER_COUNT} orders: {after[0]} keys, used_memory {after[1]}; the same "
          f"{len(open_orders)} open orders alone: {baseline[0]} keys, used_memory {baseline[1]}")
    # The history's leftovers: the recent-trades list (1,000 a symbol), the partly filled open
    # orders' fill lists, and the live 1s candles' keys the ticker did not write here.
    assert after[0] <= baseline[0] + len(SYMBOLS) + fill_lists
    assert after[1] <= baseline[1] * 1.25 + 1_000_000
