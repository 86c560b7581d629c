"""The standing matching worker, as a real process: serving, pausing, dying."""
from __future__ import annotations

import random
import signal
import threading
import time

import pytest
import redis

from devstack.procs import python_module
from exchange import keys
from exchange.config import Settings
from exchange.scripts import Scripts
from ledger.accounts import Accounts
from orderbook.entry import OrderEntry
from orderbook.schemas import PlaceOrder
from tests.journal import assert_journal_is_sequential

SYMBOL = "KRYP"
TTL_MS = 500
USERS = ("alice", "bob", "carol", "dave")


@pytest.fixture
def entry(redis_server, redis_client):
    settings = Settings(redis_url=f"redis://127.0.0.1:{redis_server.port}/0", symbols=(SYMBOL,),
                        lock_ttl_ms=TTL_MS, order_wait_ms=10_000, order_rate=None)
    accounts = Accounts(redis_client)
    for user in USERS:
        accounts.open(user, 10**12, {SYMBOL: 10**9})
    return OrderEntry(settings, redis_client, accounts, Scripts(redis_client))


def start_worker(redis_server):
    worker = python_module("orderbook.worker", env={
        "REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0", "SYMBOLS": SYMBOL, "LOCK_TTL_MS": str(TTL_MS)})
    return worker


def wait_for_lock(client, present: bool = True, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while bool(client.exists(f"redlock:{keys.lock(SYMBOL)}")) != present:
        assert time.monotonic() < deadline, "the worker never took the lock"
        time.sleep(0.02)


def random_order(rng: random.Random) -> tuple[str, PlaceOrder]:
    side = rng.choice(("buy", "sell"))
    ticks = rng.randint(995, 1005)
    return rng.choice(USERS), PlaceOrder(symbol=SYMBOL, side=side, price=f"{ticks // 100}.{ticks % 100:02d}",
                                         quantity=rng.randint(1, 5), time_in_force=rng.choice(("GTC", "IOC")))


def place_many(entry, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    placed = []
    for _ in range(count):
        status, order = entry.place(*random_order(rng))
        assert status == 201, order
        placed.append(order)
    return placed


@pytest.mark.timeout(120)
def test_worker_serves_orders_and_submitters_take_over_while_it_is_paused(redis_server, redis_client, entry):
    worker = start_worker(redis_server)
    try:
        wait_for_lock(redis_client)
        local = entry.matchers[SYMBOL]
        place_many(entry, 30, seed=1)
        assert local.batches == 0, "the standing worker should have matched everything"

        worker.kill(signal.SIGSTOP)
        started = time.monotonic()
        place_many(entry, 30, seed=2)
        assert local.batches > 0, "submitters must match themselves once the paused worker's lock expires"
        assert time.monotonic() - started >= TTL_MS / 1000 * 0.5

        worker.kill(signal.SIGCONT)
        place_many(entry, 30, seed=3)
    finally:
        worker.kill(signal.SIGCONT)
        worker.stop()
    events = assert_journal_is_sequential(redis_client, SYMBOL)
    assert sum(e["type"] == "accepted" for e in events) == 90


@pytest.mark.timeout(60)
def test_cancels_through_the_standing_worker_answer_with_fills_and_refuse_other_users(redis_server, redis_client,
                                                                                      entry):
    from orderbook.errors import ApiError

    worker = start_worker(redis_server)
    try:
        wait_for_lock(redis_client)
        entry.place("bob", PlaceOrder(symbol=SYMBOL, side="buy", price="9.00", quantity=1))  # learns of the worker
        assert entry.submitter.holder_seen[SYMBOL]
        _, order = entry.place("alice", PlaceOrder(symbol=SYMBOL, side="buy", price="10.00", quantity=10))
        entry.place("bob", PlaceOrder(symbol=SYMBOL, side="sell", price="10.00", quantity=4))
        with pytest.raises(ApiError) as err:
            entry.cancel("bob", order["order_id"])  # open, but not bob's: the worker refuses it
        assert (err.value.status, err.value.code) == (404, "not_found")
        canceled = entry.cancel("alice", order["order_id"])
        assert canceled["status"] == "canceled" and canceled["remaining_quantity"] == 6
        assert [(f["quantity"], f["liquidity"]) for f in canceled["fills"]] == [(4, "maker")]
        for user, status, code in (("bob", 404, "not_found"), ("alice", 409, "order_not_open")):
            with pytest.raises(ApiError) as err:
                entry.cancel(user, order["order_id"])
            assert (err.value.status, err.value.code) == (status, code)
        assert entry.matchers[SYMBOL].batches == 0, "the standing worker should have matched everything"
    finally:
        worker.stop()


@pytest.mark.timeout(60)
def test_a_worker_that_loses_redis_retries_and_matches_again_once_it_is_back(tmp_path):
    from devstack.procs import Proc, start_redis

    server = start_redis(tmp_path, appendonly=True)
    worker = start_worker(server)
    try:
        wait_for_lock(redis.Redis(port=server.port))
        server.stop()  # every call the matching thread makes now fails
        time.sleep(1.5)
        assert worker.popen.poll() is None, "a store outage is retried, not the end of the worker"
        logged = worker.log_path.read_text()  # all of it: pottery's own tracebacks fill the tail
        assert "Redis unavailable" in logged and "pass failed" not in logged  # a line a try, not a traceback
        server = Proc(list(server.popen.args), port=server.port, log_dir=tmp_path, name="redis")  # its file back
        client = redis.Redis(port=server.port)
        wait_for_lock(client)  # taken again by the same worker
        entry = OrderEntry(Settings(redis_url=f"redis://127.0.0.1:{server.port}/0", symbols=(SYMBOL,),
                                    lock_ttl_ms=TTL_MS, order_wait_ms=10_000, order_rate=None),
                           client, Accounts(client), Scripts(client))
        for user in ("alice", "bob"):
            entry.accounts.open(user, 10**12, {SYMBOL: 10**9})
        entry.place("alice", PlaceOrder(symbol=SYMBOL, side="sell", price="10.00", quantity=3))
        _, taken = entry.place("bob", PlaceOrder(symbol=SYMBOL, side="buy", price="10.00", quantity=3))
        assert taken["status"] == "filled"
        assert entry.matchers[SYMBOL].batches == 0, "the worker, back at work, should have matched both"
    finally:
        worker.stop()
        server.stop()


@pytest.mark.timeout(180)
def test_killing_the_worker_at_random_loses_no_order_and_doubles_no_fill(redis_server, redis_client, entry):
    rng = random.Random(7)
    placed: list[dict] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def submit(seed: int) -> None:
        local_rng = random.Random(seed)
        try:
            while not stop.is_set():
                status, order = entry.place(*random_order(local_rng))
                assert status == 201, order
                placed.append(order)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=submit, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _round in range(10):
            worker = start_worker(redis_server)
            time.sleep(rng.uniform(0.2, 0.8))
            worker.kill(signal.SIGKILL)
            worker.stop()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert len(placed) > 50
    events = assert_journal_is_sequential(redis_client, SYMBOL)
    accepted = {e["order_id"] for e in events if e["type"] == "accepted"}
    assert {o["order_id"] for o in placed} == accepted
    filled = {}
    for e in events:
        if e["type"] == "trade":
            filled[e["taker_order_id"]] = filled.get(e["taker_order_id"], 0) + e["quantity"]
    for order in placed:
        assert order["filled_quantity"] == sum(f["quantity"] for f in order["fills"])
        assert order["filled_quantity"] + order["remaining_quantity"] == order["quantity"]
        assert order["filled_quantity"] == filled.get(order["order_id"], 0)  # as taker, at placement


def test_a_malformed_inbox_entry_is_refused_on_the_journal_not_left_blocking(redis_client):
    from orderbook.commands import encode_new
    from orderbook.matcher import SymbolMatcher
    from orderbook.model import NewOrder, OrderType, Side

    inbox = keys.inbox(SYMBOL)
    redis_client.xadd(inbox, {"c": b"{not json"})
    unsized = NewOrder("m1", "alice", Side.BUY, 5, type=OrderType.MARKET)  # no protection price
    redis_client.xadd(inbox, {"c": encode_new(unsized, symbol=SYMBOL, client_order_id=None, created_ms=0)})
    good = NewOrder("g1", "bob", Side.SELL, 2, price=100)
    redis_client.xadd(inbox, {"c": encode_new(good, symbol=SYMBOL, client_order_id=None, created_ms=0, hold=2)})
    assert SymbolMatcher(redis_client, SYMBOL).drain().held
    events = assert_journal_is_sequential(redis_client, SYMBOL)
    assert [(e["type"], e.get("code")) for e in events[:2]] == [("command_rejected", "invalid_command")] * 2
    assert [e["type"] for e in events[2:]] == ["accepted", "rested"]


def test_each_reply_shows_its_order_as_its_own_command_left_it(redis_client):
    """A later command in the same batch may fill a resting order; its placement reply must not say so."""
    import orjson

    from orderbook.commands import encode_new
    from orderbook.matcher import SymbolMatcher
    from orderbook.model import NewOrder, Side

    inbox = keys.inbox(SYMBOL)
    sell = NewOrder("s1", "alice", Side.SELL, 3, price=100)
    buy = NewOrder("b1", "bob", Side.BUY, 3, price=100)
    for own in ("to-seller", "to-buyer"):
        redis_client.flushall()
        for order, reply_to in ((sell, "to-seller"), (buy, "to-buyer")):
            redis_client.xadd(inbox, {"c": encode_new(order, symbol=SYMBOL, client_order_id=None, created_ms=0,
                                                      hold=3), "r": reply_to})
        drained = SymbolMatcher(redis_client, SYMBOL).drain(own_reply_to=own)
        other = "to-buyer" if own == "to-seller" else "to-seller"
        replies = {own: drained.own_reply,
                   other: orjson.loads(redis_client.lpop(keys.reply(SYMBOL, other)))}
        assert (replies["to-seller"]["order"]["status"], replies["to-seller"]["order"]["filled_quantity"]) == ("new", 0)
        assert (replies["to-buyer"]["order"]["status"], replies["to-buyer"]["order"]["filled_quantity"]) == ("filled", 3)
        assert [f["quantity"] for f in replies["to-buyer"]["fills"]] == [3]
