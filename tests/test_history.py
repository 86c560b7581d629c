"""Archive, then forget: done orders leave Redis for MongoDB, and every history reads across both."""
from __future__ import annotations

import random
import time

import pytest

from exchange import keys, mongo
from exchange.paging import encode_cursor
from ledger.forget import forget_done_orders
from tests.test_ledger import trade_randomly

ORDERS = "/api/v1/orders"
SYMBOLS = ("KRYP", "ADAM", "PUPS")


pytestmark = pytest.mark.no_request_limit  # these tests read page after page


def every_page(client, path: str, headers=None, **params) -> list[dict]:
    """Follow next_cursor to the end; every item of every page, in order."""
    items, cursor, name = [], None, path.split("/")[3].split("?")[0]
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, query_string=query, headers=headers)
        assert page.status_code == 200, page.json
        items += page.json["trades" if name == "trades" else name]
        cursor = page.json["next_cursor"]
        if cursor is None:
            return items


def test_done_orders_leave_redis_and_every_read_finds_them_in_mongodb(client, register, redis_client, archive):
    users = [register(name) for name in ("alice", "bob", "carol")]
    trade_randomly(client, users, random.Random(17), 150)
    alice = users[0]
    before = {o["order_id"]: client.get(f"{ORDERS}/{o['order_id']}", headers=alice).json
              for o in every_page(client, ORDERS, alice, status="all", limit=7)}
    assert len(before) > 20
    assert archive(delay_s=60) == 0  # every order ended less than a minute ago: nothing leaves yet
    forgotten = archive()
    assert forgotten > 50
    for symbol in SYMBOLS:  # Redis holds open orders only, and nothing of the done ones
        states = redis_client.hlen(keys.orders(symbol))
        assert states == redis_client.zcard(keys.bids(symbol)) + redis_client.zcard(keys.asks(symbol))
        assert redis_client.zcard(keys.done_orders(symbol)) == 0
    for user in users:
        listed = {m.decode() for m in redis_client.zrange(keys.user_orders(user.user_id), 0, -1)}
        assert listed == {m.decode() for s in SYMBOLS for m in redis_client.smembers(keys.open_orders(s, user.user_id))}
    done = [order_id for order_id, order in before.items() if order["status"] in ("filled", "canceled", "rejected")]
    assert done and all(redis_client.llen(keys.fills(o.split(".")[0], o)) == 0 for o in done)
    # ... and every read still answers as it did, from MongoDB now.
    for order_id, order in before.items():
        assert client.get(f"{ORDERS}/{order_id}", headers=alice).json == order
    paged = every_page(client, ORDERS, alice, status="all", limit=7)
    assert [o["order_id"] for o in paged] == list(before)  # each once, newest first
    assert len(every_page(client, ORDERS, alice, status="all", limit=1000)) == len(before)
    for symbol in SYMBOLS:
        assert [o["order_id"] for o in every_page(client, ORDERS, alice, status="all", symbol=symbol, limit=4)] \
            == [o for o in before if o.startswith(symbol + ".")]
    filled = next(o for o in done if before[o]["status"] == "filled")
    refused = client.delete(f"{ORDERS}/{filled}", headers=alice)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "order_not_open"
    assert client.get(f"{ORDERS}/{filled}", headers=users[1]).status_code == 404  # not bob's


def test_a_pass_with_nothing_due_reads_one_state_a_symbol_not_a_batch(client, register, redis_client, archive):
    users = [register(name) for name in ("alice", "bob")]
    trade_randomly(client, users, random.Random(3), 60)
    assert archive(delay_s=60) == 0  # settled and archived, none due yet
    ended = [symbol for symbol in SYMBOLS if redis_client.zcard(keys.done_orders(symbol))]
    assert ended

    def calls(command: str) -> int:
        return redis_client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0)
    before = {command: calls(command) for command in ("hget", "hmget", "lrange")}
    not_due = int(time.time() * 1000) - 60_000
    assert sum(forget_done_orders(redis_client, archive.db, s, older_than_ms=not_due) for s in SYMBOLS) == 0
    made = {command: calls(command) - count for command, count in before.items()}
    assert made["hmget"] == made["lrange"] == 0 and made["hget"] >= len(ended)  # a look at one state each
    assert archive() > 0  # once due, they leave


def test_order_pages_join_redis_and_mongodb_seamlessly_while_orders_move(client, register, archive):
    alice, bob = register("alice"), register("bob")
    placed = []
    for round_ in range(6):
        for n in range(8):
            body = {"symbol": "KRYP", "side": "sell" if n % 2 else "buy", "price": "10.00", "quantity": 1,
                    "time_in_force": "IOC" if n % 3 else "GTC"}
            resp = client.post(ORDERS, json=body, headers=alice if n % 4 else bob)
            if resp.status_code == 201 and (n % 4):
                placed.append(resp.json["order_id"])
        if round_ % 2:
            archive()  # some rounds' done orders move to MongoDB, the rest stay in Redis
    seen = every_page(client, ORDERS, alice, status="all", limit=3)
    assert sorted(o["order_id"] for o in seen) == sorted(placed) and len(seen) == len(placed)
    times = [(o["created_at"], o["order_id"]) for o in seen]
    assert times == sorted(times, reverse=True)
    start, end = times[-5][0], times[2][0]
    ranged = every_page(client, ORDERS, alice, status="all", limit=2, start=start, end=end)
    assert [o["order_id"] for o in ranged] == [o for t, o in times if start <= t < end]


def test_trade_and_fill_pages_hold_every_trade_once_across_the_boundary(client, register, archive, settle):
    alice, bob = register("alice"), register("bob")
    order = {"symbol": "KRYP", "price": "1.00", "quantity": 1}
    for _ in range(54):  # 1,080 trades: the recent-trades list keeps only the last 1,000
        for maker, taker in ((alice, bob), (bob, alice)):
            for who, side in ((maker, "sell"), (taker, "buy")):
                resp = client.post(f"{ORDERS}/batch", json={"orders": [{**order, "side": side}] * 10}, headers=who)
                assert resp.status_code == 200 and all("error" not in o for o in resp.json["orders"]), resp.json
        settle()  # the shares bought are available to sell again
    archive()
    trades = archive.db[mongo.TRADES].count_documents({"symbol": "KRYP"})
    assert trades == 1080
    paged = every_page(client, "/api/v1/trades/KRYP", limit=97)
    assert len(paged) == trades and len({t["trade_id"] for t in paged}) == trades
    assert [t["sequence"] for t in paged] == sorted((t["sequence"] for t in paged), reverse=True)
    assert client.get("/api/v1/trades/KRYP").json["trades"] == paged[:100]
    middle = paged[500]["time"]
    assert every_page(client, "/api/v1/trades/KRYP", limit=100, end=middle) == [t for t in paged if t["time"] < middle]
    # A ledger of record further behind than the recent-trades list reaches: the trades between are in
    # neither store, so a page reaching past the list waits (503, Retry-After) instead of skipping them.
    cursor = archive.db[mongo.CURSORS].find_one({"_id": "KRYP"})
    oldest_kept = paged[999]["sequence"]  # the recent-trades list holds the newest 1,000
    archive.db[mongo.CURSORS].update_one({"_id": "KRYP"}, {"$set": {"sequence": oldest_kept - 5}})
    assert client.get("/api/v1/trades/KRYP", query_string={"limit": 100}).status_code == 200  # Redis alone
    waiting = client.get("/api/v1/trades/KRYP", query_string={"limit": 1000, "cursor": encode_cursor(
        (cursor["epoch"], paged[500]["sequence"]))})
    assert waiting.status_code == 503 and waiting.json["error"]["code"] == "history_catching_up"
    assert waiting.headers["Retry-After"] == "1"
    archive.db[mongo.CURSORS].update_one({"_id": "KRYP"}, {"$set": {"sequence": cursor["sequence"]}})
    fills = every_page(client, "/api/v1/fills", bob, limit=60)
    assert len(fills) == 1080 and len({(f["trade_id"], f["side"]) for f in fills}) == 1080


def test_a_cursor_this_api_did_not_make_is_a_400(client, register):
    alice = register("alice")
    for path, params in ((ORDERS, {"status": "all"}), ("/api/v1/fills", {}), ("/api/v1/trades/KRYP", {})):
        # not base64 JSON; [1,2,3]; ["a",1]; [2**64-1, 1]; [-1, "a"]
        for cursor in ("x", "WzEsMiwzXQ", "WyJhIiwxXQ", encode_cursor((2**64 - 1, 1)), encode_cursor((-1, "a"))):
            resp = client.get(path, query_string={**params, "cursor": cursor}, headers=alice)
            assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_parameter", (path, cursor)
    resp = client.get("/api/v1/trades/KRYP", query_string={"start": 5, "end": 4})
    assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_range"


def test_a_matcher_catching_up_drops_an_order_that_ended_and_left_redis(redis_client):
    from orderbook.matcher import SymbolMatcher
    from orderbook.model import NewOrder, Side
    from tests.test_matcher_redis import SYMBOL, enqueue, read_journal

    first, second = SymbolMatcher(redis_client, SYMBOL), SymbolMatcher(redis_client, SYMBOL)
    enqueue(redis_client, [NewOrder("s1", "alice", Side.SELL, 5, price=100)])
    assert first.drain().held and "s1" in first.cache.book  # the first matcher's copy has s1 resting
    enqueue(redis_client, [NewOrder("b1", "bob", Side.BUY, 5, price=100)])
    assert second.drain().held  # the second fills s1
    redis_client.hdel(keys.orders(SYMBOL), "s1", "b1")  # both done, and moved to MongoDB
    enqueue(redis_client, [NewOrder("b2", "bob", Side.BUY, 5, price=100)])
    assert first.drain().held and first.cache.catch_ups == 1  # it followed the journal, not a reload
    assert "s1" not in first.cache.book and first.cache.book.best_bid == 100  # b2 rests: nothing to take
    assert sum(event["type"] == "trade" for event in read_journal(redis_client)) == 1


def test_history_written_before_the_archive_is_backfilled_once(client, register, redis_client, archive):
    from ledger.backfill import backfill

    alice, bob = register("alice"), register("bob")
    for _ in range(3):
        client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "10.00", "quantity": 1}, headers=alice)
        client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "price": "10.00", "quantity": 1}, headers=bob)
    archive(delay_s=60)  # settled and archived; nothing is old enough to leave Redis yet
    db = archive.db
    fills = every_page(client, "/api/v1/fills", alice, limit=2)
    # As stored before this version: trades without their epoch or their users, a fills collection
    # of a document per side, done orders not indexed.
    db[mongo.TRADES].update_many({}, {"$unset": {"epoch": "", "user_ids": ""}})
    db[mongo.FILLS].insert_many([{"_id": f"{t['_id']}:sell", "user_id": t["seller_id"]}
                                 for t in db[mongo.TRADES].find()])
    assert every_page(client, "/api/v1/fills", alice) == []  # read through user_ids: not there yet
    redis_client.delete(keys.done_orders("KRYP"))
    assert backfill(redis_client, db, ("KRYP",)) == ["backfill: 3 trade(s) got their journal epoch",
                                                       "backfill: 3 trade(s) got their users, and hold their fills",
                                                       "backfill: KRYP: 6 done order(s) indexed to leave Redis"]
    assert backfill(redis_client, db, ("KRYP",)) == []  # once
    assert mongo.FILLS not in db.list_collection_names()
    assert every_page(client, "/api/v1/fills", alice, limit=2) == fills and len(fills) == 3
    assert archive() == 6  # they leave Redis like any other
    assert len(every_page(client, "/api/v1/trades/KRYP", limit=2)) == 3
    assert len(every_page(client, ORDERS, alice, status="all", limit=2)) == 3


def test_a_first_page_of_history_reads_its_index_not_the_whole_collection(settings):
    """A user's first page of fills (read out of trades) or orders, and a symbol's of trades (no
    cursor, no time window), come through their index; SecantusDB would plan an $and as a scan of the whole collection.
    Each page is the newest, as a sort of every document gives it."""
    from ledger.history import History, Window

    db = mongo.database(settings.mongo_url, settings.mongo_db)
    mongo.ensure_indexes(db)
    rng = random.Random(7)
    orders = [{"_id": f"o{n:04d}", "user_id": f"u{n % 3}", "symbol": "KRYP", "created_ms": 1_000 + rng.randrange(60)}
              for n in range(300)]
    trades = [{"_id": f"t{n:04d}", "symbol": "KRYP", "epoch": 1, "sequence": n, "time": 1_000 + rng.randrange(60),
               "price": 100, "quantity": 1, "taker_side": "buy", "buy_order_id": f"b{n}", "sell_order_id": f"s{n}",
               "buyer_id": f"u{n % 3}", "seller_id": f"u{(n + 1) % 3}", "user_ids": [f"u{n % 3}", f"u{(n + 1) % 3}"],
               "buyer_fee": 0, "seller_fee": 0} for n in range(300)]
    for name, docs in ((mongo.ORDERS, orders), (mongo.TRADES, trades)):
        db[name].insert_many(docs)
    sent: list[tuple[str, dict]] = []

    class Recording:
        def __getitem__(self, name: str):
            class Collection:
                def find(self, filter_, *args, **kwargs):
                    sent.append((name, filter_))
                    return db[name].find(filter_, *args, **kwargs)
            return Collection()

    history = History(Recording())
    pages = {"fills": history.fills("u1", None, Window(10)), mongo.ORDERS: history.orders("u2", None, Window(10)),
             mongo.TRADES: history.trades("KRYP", Window(10))}

    def newest(docs, key_fields, keep) -> list[str]:
        kept = sorted((d for d in docs if keep(d)), key=lambda d: tuple(d[k] for k in key_fields), reverse=True)
        return [d["_id"] for d in kept[:10]]
    assert [d["trade_id"] for d in pages["fills"].items] == newest(trades, ("time", "_id"),
                                                                   lambda d: "u1" in d["user_ids"])
    assert [d["_id"] for d in pages[mongo.ORDERS].items] == newest(orders, ("created_ms", "_id"),
                                                                    lambda d: d["user_id"] == "u2")
    assert [d["_id"] for d in pages[mongo.TRADES].items] == newest(trades, ("epoch", "sequence"), lambda d: True)
    assert [name for name, _ in sent] == [mongo.TRADES, mongo.ORDERS, mongo.TRADES]
    for name, filter_ in sent:
        plan = str(db[name].find(filter_).explain()["queryPlanner"]["winningPlan"])
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, (name, filter_, plan)
