"""Replay: the book rebuilt from the archived journal alone has the live book's state hash."""
from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings

from exchange import keys, mongo
from exchange.scripts import Scripts
from ledger.archive import JournalArchiver
from orderbook.book import OrderBook
from orderbook.book_hash import RestingLine, book_hash, book_lines
from orderbook.market import MarketData
from orderbook.matcher import SymbolMatcher
from orderbook.model import Side
from orderbook.replay import JournalReplay, ReplayMismatch, replay_archive
from tests.command_streams import build_commands, command_specs
from tests.journal import journaled
from tests.test_matcher_redis import ROOT, SYMBOL, enqueue, stream


def journaled_run(events: list, start: int = 0) -> list:
    """Pure book events as the matcher journals them (the fields a replay reads)."""
    return [journaled(event, start + n, symbol=SYMBOL) for n, event in enumerate(events, 1)]


@hypothesis_settings(max_examples=60, deadline=None)
@given(command_specs)
def test_folding_the_journal_rebuilds_the_book_that_wrote_it(specs):
    book, replay, sequence = OrderBook(), JournalReplay(SYMBOL), 0
    for command in build_commands(specs):
        # the live book's priority is the sequence of the order's 'accepted' event
        events = journaled_run(book.apply(command, priority=sequence + 1), start=sequence)
        for event in events:
            replay.apply(event)
        sequence += len(events)
        assert book_lines(replay.book) == book_lines(book)
    replay.book.validate()
    assert replay.state_hash()["hash"] == book_hash(book_lines(book))


def test_the_hash_is_the_documented_function_of_the_resting_orders():
    lines = [RestingLine(Side.BUY, 101, 3, "b", 5), RestingLine(Side.SELL, 102, 1, "a", 2)]
    assert book_hash(lines) == hashlib.sha256(b"buy 101 3 b 5\nsell 102 1 a 2\n").hexdigest()
    assert book_hash([]) == hashlib.sha256(b"").hexdigest()
    assert book_hash(lines[::-1]) != book_hash(lines)


def test_a_journal_that_disagrees_with_the_book_is_refused():
    from orderbook.model import Accepted, Rested, Trade
    events = journaled_run([Accepted("a", "alice", Side.SELL, 5, 100), Rested("a", "alice", Side.SELL, 100, 5),
                        Trade("a", "b", "alice", "bob", Side.BUY, 100, 2, maker_remaining=2, taker_remaining=0)])
    replay = JournalReplay(SYMBOL)
    replay.apply(events[0])
    replay.apply(events[1])
    with pytest.raises(ReplayMismatch, match="not resting with 4 left"):
        replay.apply(events[2])
    with pytest.raises(ReplayMismatch, match="does not follow"):
        replay.apply(events[0])  # a sequence it already applied


def test_a_journal_that_skips_or_invents_a_stop_trigger_is_refused():
    """The book triggers a buy stop at 101 when a trade reaches it; a journal that leaves it
    parked into the next command, or that parks a stop the last trade already reached, is refused."""
    from orderbook.model import CancelOrder, NewOrder, OrderType, Triggered

    book = OrderBook()
    commands = [NewOrder("s1", "sam", Side.SELL, 5, price=101), NewOrder("b1", "bea", Side.BUY, 1, price=100),
                NewOrder("st", "stu", Side.BUY, 2, OrderType.STOP, protection_price=110, stop_price=101),
                NewOrder("t1", "tom", Side.BUY, 1, price=101), CancelOrder("b1", "bea")]
    runs = [book.apply(command, priority=None) for command in commands]
    assert any(isinstance(e, Triggered) for e in runs[3])  # the trade at 101 triggered it
    events = journaled_run([e for run in runs for e in run])
    replay = JournalReplay(SYMBOL)
    for event in events:
        replay.apply(event)  # the book's own journal replays
    # The trigger and what followed it dropped: the cancel that comes next finds the stop still parked.
    skipped = journaled_run([e for run in runs[:3] for e in run] + list(runs[3][:3]) + list(runs[4]))
    replay = JournalReplay(SYMBOL)
    with pytest.raises(ReplayMismatch, match="never triggered"):
        for event in skipped:
            replay.apply(event)
    late = journaled_run([e for run in runs[:2] for e in run] + list(runs[3][:3])
                         + [e for e in runs[2]])  # parked after a trade at its price
    replay = JournalReplay(SYMBOL)
    with pytest.raises(ReplayMismatch, match="already reached"):
        for event in late:
            replay.apply(event)


@pytest.mark.timeout(180)
def test_replay_of_the_archive_gives_the_live_hash_at_every_sequence_after_redis_trimmed_it(
        redis_client, settings):
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    mongo.ensure_indexes(db)
    market = MarketData(redis_client, Scripts(redis_client), (SYMBOL,))
    matcher = SymbolMatcher(redis_client, SYMBOL, batch_max_commands=9)
    commands, rng, position, live = stream(seed=23, count=1200), random.Random(23), 0, []
    while position < len(commands):
        size = rng.randint(1, 60)
        enqueue(redis_client, commands[position:position + size])
        position += size
        assert matcher.drain().held
        live.append(market.state_hash(SYMBOL))
    assert live[-1]["sequence"] > 2000 and live[-1]["hash"] != book_hash([])
    archiver = JournalArchiver(redis_client, SYMBOL, db, batch_size=97, wait_ms=0)
    while archiver.run_once():
        pass
    redis_client.xtrim(keys.events(SYMBOL), maxlen=0)  # the live journal is gone; the archive is all there is
    assert redis_client.xlen(keys.events(SYMBOL)) == 0
    for expected in live[::7] + [live[-1]]:
        replay = replay_archive(db, SYMBOL, to_sequence=expected["sequence"])
        replay.book.validate()
        assert replay.state_hash() == expected
    with pytest.raises(ReplayMismatch, match="ends at sequence"):
        replay_archive(db, SYMBOL, to_sequence=live[-1]["sequence"] + 1)
    # The operator's tool: MongoDB only, the hash on its last line.
    env = {**os.environ, "MONGO_URL": settings.mongo_url, "MONGO_DB": settings.mongo_db,
           "REDIS_URL": "redis://127.0.0.1:1/0"}
    middle = live[len(live) // 2]
    done = subprocess.run([sys.executable, "-m", "orderbook", "replay", SYMBOL, "--to-sequence",
                           str(middle["sequence"])], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout.strip().splitlines()[-1]) == middle
    assert f"{SYMBOL} at sequence {middle['sequence']}" in done.stdout


def test_the_live_hash_is_served_for_listed_symbols_only_and_twice_a_second_at_most(client, register):
    seller = register("alice")
    client.post("/api/v1/orders", json={"symbol": "KRYP", "side": "sell", "price": "10.00", "quantity": 3},
                headers=seller)
    order_id = client.get("/api/v1/orders", headers=seller).json["orders"][0]["order_id"]
    assert client.get("/api/v1/book/NOPE/hash").status_code == 404
    answer = client.get("/api/v1/book/KRYP/hash").json
    assert answer["symbol"] == "KRYP" and answer["sequence"] == 2  # accepted, rested
    assert answer["hash"] == book_hash([RestingLine(Side.SELL, 1000, 1, order_id, 3)])
    refused = client.get("/api/v1/book/KRYP/hash")  # it reads every resting order: two a second per address
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"


@pytest.mark.no_request_limit
def test_ledger_replay_recomputes_every_balance_from_the_archive_alone(client, register, archive, capsys,
                                                                      monkeypatch, settings):
    from ledger.__main__ import main as ledger_main
    from ledger.replay import replay
    from tests.test_ledger import trade_randomly

    users = [register(name) for name in ("alice", "bob", "carol", "dave")]
    trade_randomly(client, users, random.Random(41), 200)
    archive()
    db, symbols = archive.db, ("KRYP", "ADAM", "PUPS")
    report = replay(db, symbols)
    assert report.ok, report.problems
    assert any("archived events replayed" in fact for fact in report.facts)
    monkeypatch.setenv("MONGO_URL", settings.mongo_url)
    monkeypatch.setenv("MONGO_DB", settings.mongo_db)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # it needs no Redis
    assert ledger_main(["replay"]) == 0 and "ledger replay: OK" in capsys.readouterr().out
    # A ledger of record that moved a cent the journal never did is caught, to the field.
    db[mongo.ACCOUNTS].update_one({"_id": users[1].user_id}, {"$inc": {"cash.available": 1}})
    assert [p for p in replay(db, symbols).problems] == [
        f"{users[1].user_id} cash.available: replayed "
        f"{db[mongo.ACCOUNTS].find_one({'_id': users[1].user_id})['cash']['available'] - 1}, "
        f"the ledger of record holds {db[mongo.ACCOUNTS].find_one({'_id': users[1].user_id})['cash']['available']}"]
    db[mongo.ACCOUNTS].update_one({"_id": users[1].user_id}, {"$inc": {"cash.available": -1}})
    # An archive behind the ledger of record cannot prove anything, and says so.
    last = db[mongo.EVENTS].find_one({"symbol": "KRYP"}, sort=[("first_sequence", -1)])
    db[mongo.EVENTS].delete_one({"_id": last["_id"]})
    assert any("let the archive catch up" in p for p in replay(db, symbols).problems)
    assert ledger_main(["replay"]) == 1
