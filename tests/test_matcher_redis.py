"""The Redis matching engine against the naive reference, on a real redis-server.

What must hold whatever the schedule: the journal (the ``events`` stream) and
the book in Redis are exactly what one sequential reference matcher produces
for the inbox's arrival order. It is checked for one matcher, for two matchers
taking turns (reload and journal catch-up), and for four worker processes racing on
one symbol (with and without lock expiries, with and without concurrent
submitters). tests/test_matcher_fencing.py adds a matcher paused past its lock's
expiry and workers killed with SIGKILL mid-batch.
"""
from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange import keys
from exchange.scripts import Scripts
from orderbook.commands import encode_amend, encode_cancel, encode_new
from orderbook.market import book_levels
from orderbook.matcher import SymbolMatcher
from orderbook.model import AmendOrder, CancelOrder, NewOrder, OrderType, Side
from tests.command_streams import build_commands, command_specs, random_commands
from tests.journal import event_to_dict
from tests.matcher_worker import go_key, ready_key
from tests.reference_matcher import ReferenceMatcher

SYMBOL = "KRYP"
ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).with_name("matcher_worker.py")
UNBOUNDED_COLLAR = 1_000_000  # above every price the streams use


# ---- helpers ------------------------------------------------------------------------------------


def collared(commands) -> list:
    """Order entry always gives a market order a collar (a market buy's hold is sized by it,
    so the matcher needs one). A collar beyond every price matches like none at all."""
    return [dataclasses.replace(c, protection_price=UNBOUNDED_COLLAR)
            if isinstance(c, NewOrder) and c.type in (OrderType.MARKET, OrderType.STOP) and c.side is Side.BUY
            and c.protection_price is None else c
            for c in commands]


def stream(seed: int, count: int, id_prefix: str = "o") -> list:
    return collared(random_commands(seed, count, id_prefix=id_prefix))


def encode(command) -> bytes:
    if isinstance(command, NewOrder):
        return encode_new(command, symbol=SYMBOL, client_order_id=None, created_ms=1)
    if isinstance(command, CancelOrder):
        return encode_cancel(command.order_id, command.user_id)
    return encode_amend(command.order_id, command.user_id, command.new_quantity)


def enqueue(client: redis.Redis, commands) -> list[bytes]:
    """Add commands to the inbox as order entry does; returns their entry ids."""
    pipe = client.pipeline(transaction=False)
    for command in commands:
        pipe.xadd(keys.inbox(SYMBOL), {"c": encode(command)})
    return pipe.execute()


def read_journal(client: redis.Redis) -> list[dict]:
    journal = []
    for _id, fields in client.xrange(keys.events(SYMBOL)):
        event = orjson.loads(fields[b"event"])
        assert int(fields[b"sequence"]) == event["sequence"]
        journal.append(event)
    return journal


def assert_journal_matches(journal: list[dict], expected_events: list) -> None:
    """Event by event, every field the reference knows; sequences gap-free 1..N."""
    assert [event["sequence"] for event in journal] == list(range(1, len(journal) + 1))
    expected = [event_to_dict(event) for event in expected_events]
    actual = [{key: event.get(key) for key in want} for event, want in zip(journal, expected)]
    assert actual == expected[:len(actual)]
    assert len(journal) == len(expected)


def resting_view(book) -> list[tuple]:
    return [(o.order_id, o.user_id, o.side, o.price, o.quantity, o.remaining)
            for side in (Side.BUY, Side.SELL) for o in book.resting_orders(side)]


def assert_redis_book_matches(client: redis.Redis, reference: ReferenceMatcher, events_count: int) -> None:
    # A fresh matcher rebuilt from Redis alone sees the reference's book.
    fresh = SymbolMatcher(client, SYMBOL)
    fresh.cache.reload()
    fresh.cache.book.validate()
    assert fresh.cache.book.l2() == reference.l2()
    assert resting_view(fresh.cache.book) == resting_view(reference)
    parked = sorted((o.order_id, o.stop_price, o.quantity) for o in reference.parked_orders())
    assert sorted((s.order_id, s.stop_price, s.order.quantity) for s in fresh.cache.book.stops) == parked
    assert sorted(m.decode().split(":", 1)[1] for m in client.zrange(keys.stops(SYMBOL), 0, -1)) == \
        [order_id for order_id, _price, _quantity in parked]
    assert fresh.cache.seq == events_count == int(client.get(keys.seq(SYMBOL)) or 0)

    # The sorted sets themselves are the priority queues, best first.
    for side, key in ((Side.BUY, keys.bids(SYMBOL)), (Side.SELL, keys.asks(SYMBOL))):
        members = [m.decode().split(":", 1)[1] for m in client.zrange(key, 0, -1)]
        assert members == [o.order_id for o in reference.queue(side)]

    # The level totals a snapshot reads are the reference's levels, best first, whatever
    # matchers wrote them (deltas of each batch, or a rewrite after a reload).
    seq, bids, asks = book_levels(Scripts(client), SYMBOL, 10**6)
    pairs = [[[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)] for flat in (bids, asks)]
    assert (seq, *pairs) == (events_count, *reference.l2())

    # Every order's stored state agrees with the reference, and quantity = filled + remaining.
    states = {k.decode(): orjson.loads(v) for k, v in client.hgetall(keys.orders(SYMBOL)).items()}
    assert set(states) == set(reference.orders)
    for order_id, order in reference.orders.items():
        state = states[order_id]
        assert state["quantity"] == state["filled_quantity"] + state["remaining_quantity"], state
        assert (state["status"], state["quantity"], state["filled_quantity"], state["remaining_quantity"]) == (
            order.status.value, order.quantity, order.filled, order.remaining), order_id
        fills = [orjson.loads(f) for f in client.lrange(keys.fills(SYMBOL, order_id), 0, -1)]
        assert sum(f["quantity"] for f in fills) == state["filled_quantity"]

    # Open-order sets hold exactly each user's resting orders and parked stops.
    for user in {order.user_id for order in reference.orders.values()}:
        open_ids = {m.decode() for m in client.smembers(keys.open_orders(SYMBOL, user))}
        assert open_ids == {o.order_id for o in [*reference.book, *reference.parked_orders()] if o.user_id == user}


def assert_fully_applied(client: redis.Redis) -> None:
    last = client.xrevrange(keys.inbox(SYMBOL), count=1)
    assert last, "inbox is empty"
    assert client.get(keys.cursor(SYMBOL)) == last[0][0]


def check_against_reference(client: redis.Redis, commands) -> list[dict]:
    """The journal and the Redis book are what the reference makes of ``commands`` in this order."""
    reference = ReferenceMatcher()
    expected = reference.run(commands)
    journal = read_journal(client)
    assert_journal_matches(journal, expected)
    assert_redis_book_matches(client, reference, len(expected))
    assert_fully_applied(client)
    return journal


def drain_fully(matcher: SymbolMatcher, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not matcher.drain().held or matcher.has_pending():
        assert time.monotonic() < deadline, "could not drain"
        time.sleep(0.005)


def start_worker(redis_server, workers: list, *args) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "--port", str(redis_server.port), "--symbol", SYMBOL, *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    workers.append(proc)
    return proc


def worker_stats(proc: subprocess.Popen, timeout: float = 90) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err.decode()[-3000:]}"
    return orjson.loads(out.splitlines()[-1])


def release_barrier(client: redis.Redis, count: int, timeout: float = 30) -> None:
    """Let the workers go once all have started, so they really race."""
    deadline = time.monotonic() + timeout
    while int(client.get(ready_key(SYMBOL)) or 0) < count:
        assert time.monotonic() < deadline, "workers never got ready"
        time.sleep(0.01)
    client.set(go_key(SYMBOL), 1)


# ---- a. matchers in this process == reference -------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(specs=command_specs, chunks=st.lists(st.integers(1, 12), min_size=1, max_size=10),
       turns=st.lists(st.sampled_from([0, 1]), min_size=1, max_size=10), batch=st.integers(1, 8))
def test_redis_matcher_matches_reference(redis_server, specs, chunks, turns, batch):
    """Commands arrive in chunks and two matchers take turns draining them, so each one
    reloads or catches up on the other's writes before matching."""
    client = redis.Redis(port=redis_server.port)
    client.flushall()
    try:
        commands = collared(build_commands(specs))
        matchers = [SymbolMatcher(client, SYMBOL, batch_max_commands=batch) for _ in range(2)]
        position, step = 0, 0
        while position < len(commands):
            size = chunks[step % len(chunks)]
            enqueue(client, commands[position:position + size])
            position += size
            assert matchers[turns[step % len(turns)]].drain().held
            assert not matchers[0].has_pending()
            step += 1
        if commands:
            check_against_reference(client, commands)
        assert [m.stale_commits for m in matchers] == [0, 0]
    finally:
        client.close()


def test_two_matchers_taking_turns_catch_up_from_the_journal(redis_client):
    commands = stream(seed=11, count=1500)
    matchers = [SymbolMatcher(redis_client, SYMBOL, batch_max_commands=7) for _ in range(2)]
    rng = random.Random(11)
    position = 0
    while position < len(commands):
        size = rng.randint(1, 40)
        enqueue(redis_client, commands[position:position + size])
        position += size
        assert rng.choice(matchers).drain().held
    assert sum(m.cache.catch_ups for m in matchers) > 10  # the catch-up path, not only reloads, was used
    check_against_reference(redis_client, commands)


def test_matcher_commits_replies_fills_and_trade_details(redis_client):
    commands = [NewOrder("a1", "alice", Side.SELL, 5, price=100), NewOrder("b1", "bob", Side.BUY, 3, price=101),
                CancelOrder("a1", "alice"), AmendOrder("zz", "bob", 1)]
    entry_ids = enqueue(redis_client, commands)
    assert SymbolMatcher(redis_client, SYMBOL).drain().held
    check_against_reference(redis_client, commands)
    replies = [orjson.loads(redis_client.lpop(keys.reply(SYMBOL, entry_id.decode()))) for entry_id in entry_ids]
    assert replies[0]["order"]["status"] == "new" and replies[0]["fills"] == []
    assert replies[1]["order"]["status"] == "filled"
    assert [(f["price"], f["quantity"], f["liquidity"]) for f in replies[1]["fills"]] == [(100, 3, "taker")]
    assert (replies[2]["order"]["status"], replies[2]["order"]["remaining_quantity"]) == ("canceled", 2)
    assert replies[3]["error"] == {"code": "not_open"}
    trade = next(e for e in read_journal(redis_client) if e["type"] == "trade")
    assert (trade["buy_order_id"], trade["sell_order_id"], trade["price"], trade["quantity"]) == ("b1", "a1", 100, 3)
    maker_fills = [orjson.loads(f) for f in redis_client.lrange(keys.fills(SYMBOL, "a1"), 0, -1)]
    assert [(f["liquidity"], f["trade_id"]) for f in maker_fills] == [("maker", trade["trade_id"])]


def test_failed_commit_does_not_leave_the_cache_ahead_of_redis(redis_client):
    """A batch matched but never committed (the connection drops, the process is
    interrupted) must not stay in the in-memory book: the retried batch has to be
    matched against what Redis holds, not against fills that never happened."""
    commands = stream(seed=7, count=120)
    enqueue(redis_client, commands[:60])
    calls = {"n": 0}

    def lose_second_commit():
        calls["n"] += 1
        if calls["n"] == 2:
            raise redis.ConnectionError("connection lost before commit")

    matcher = SymbolMatcher(redis_client, SYMBOL, batch_max_commands=20, before_commit=lose_second_commit)
    with pytest.raises(redis.ConnectionError):
        matcher.drain()
    enqueue(redis_client, commands[60:])
    drain_fully(matcher)
    check_against_reference(redis_client, commands)


# ---- b. four worker processes racing on one symbol -----------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("contention", [
    pytest.param(dict(lock_ttl_ms=2000, batch=64), id="steady-locks"),
    # Locks of 120 ms and random pauses of up to 200 ms before commits: holders
    # regularly lose their lock mid-batch, and the fence must refuse their commit.
    pytest.param(dict(lock_ttl_ms=120, batch=16, pause_p=0.06, pause_ms=200), id="expiring-locks"),
])
def test_four_processes_draining_equal_one_sequential_run(redis_client, redis_server, workers, contention):
    commands = stream(seed=1, count=3000)
    enqueue(redis_client, commands)
    args = ["--lock-ttl-ms", contention["lock_ttl_ms"], "--batch", contention["batch"], "--barrier"]
    if "pause_p" in contention:
        args += ["--pause-p", contention["pause_p"], "--pause-ms", contention["pause_ms"]]
    procs = [start_worker(redis_server, workers, *args, "--seed", n) for n in range(4)]
    release_barrier(redis_client, len(procs))
    stats = [worker_stats(proc) for proc in procs]

    assert all(s["drains"] >= 1 for s in stats), stats  # every worker raced for the lock
    assert sum(s["batches"] for s in stats) >= len(commands) / contention["batch"]
    check_against_reference(redis_client, commands)
    print("worker stats:", stats)


@pytest.mark.timeout(120)
def test_four_processes_submitting_and_draining_concurrently(redis_client, redis_server, workers, tmp_path):
    """Each process adds its own commands to the inbox and drains; the arrival order is
    whatever interleaving the inbox got. The journal alone reveals it (see
    ``arrival_order_from_journal``), and the reference run on that order must
    reproduce the whole journal and the book."""
    per_process = [stream(seed=100 + n, count=600, id_prefix=f"p{n}-") for n in range(4)]
    for n, commands in enumerate(per_process):
        (tmp_path / f"p{n}.cmds").write_bytes(b"\n".join(encode(c) for c in commands) + b"\n")
    procs = [start_worker(redis_server, workers, "--submit", tmp_path / f"p{n}.cmds", "--submitters", 4,
                          "--batch", 32, "--lock-ttl-ms", 500, "--barrier", "--seed", n)
             for n in range(4)]
    release_barrier(redis_client, len(procs))
    stats = [worker_stats(proc) for proc in procs]
    assert [s["submitted"] for s in stats] == [600] * 4
    assert all(s["drains"] >= 1 for s in stats), stats  # each submitted, then raced to drain

    arrival = arrival_order_from_journal(read_journal(redis_client), per_process)
    switches = sum(1 for a, b in zip(arrival, arrival[1:]) if a.order_id.split("-")[0] != b.order_id.split("-")[0])
    assert switches > 4, "the submitters never interleaved; the test proves little"
    check_against_reference(redis_client, arrival)
    print("worker stats:", stats, "process switches in arrival order:", switches)


def arrival_order_from_journal(journal: list[dict], per_process: list[list]) -> list:
    """Rebuild the inbox order from the journal.

    Each command's first event names it: 'accepted' a new order; 'done' with reason
    'canceled' a cancel; 'amended' an amend; 'command_rejected' a cancel or amend.
    Trades, makers' 'done' and 'rested' follow the command that caused them. Each
    process only names its own order ids (``p<n>-...``), so the one process whose
    next unsent command names the event's order sent it. This also proves every
    command was applied exactly once, in the order its process sent it.
    """
    queues = [list(reversed(commands)) for commands in per_process]  # pop() = next sent
    arrival = []
    for event in journal:
        if not (event["type"] in ("accepted", "amended", "command_rejected")
                or (event["type"] == "done" and event["reason"] == "canceled")):
            continue
        senders = [q for q in queues if q and q[-1].order_id == event["order_id"]]
        assert len(senders) == 1, f"no process sent {event} next"
        command = senders[0][-1]
        assert command.user_id == event["user_id"], (command, event)
        if event["type"] == "accepted":
            assert isinstance(command, NewOrder), (command, event)
        elif event["type"] == "done":
            assert isinstance(command, CancelOrder), (command, event)
        elif event["type"] == "amended":
            assert isinstance(command, AmendOrder) and command.new_quantity == event["quantity"], (command, event)
        else:
            assert isinstance(command, (CancelOrder, AmendOrder)), (command, event)
        arrival.append(senders[0].pop())
    assert not any(queues), "commands that never reached the journal"
    return arrival
