"""When Redis loses data, the ledger of record stops instead of skipping the new events as
"already applied", says so everywhere an operator looks, and `ledger recover` resumes it.

Whole loss: Redis restarts empty, sequences start again at 1 in a new epoch. Partial loss:
the append-only file's last second is gone, and the same sequences are written again by
later journal entries. Both were skipped silently before the journal had an epoch.
"""
from __future__ import annotations

import logging
import time

import orjson
import pytest

from exchange import journal, keys, mongo
from ledger.consumer import JournalConsumer
from ledger.live_settlement import SymbolSettler
from ledger.record import JournalFault, LedgerOfRecord, Position, fresh_entries
from ledger.recovery import RecoveryRefused, recover

ORDERS = "/api/v1/orders"
SYMBOLS = ("KRYP", "ADAM", "PUPS")


def trade(client, seller, buyer, price="10.00", quantity=2, symbol="KRYP"):
    sold = client.post(ORDERS, json={"symbol": symbol, "side": "sell", "price": price, "quantity": quantity},
                       headers=seller)
    bought = client.post(ORDERS, json={"symbol": symbol, "side": "buy", "price": price, "quantity": quantity},
                         headers=buyer)
    assert (sold.status_code, bought.status_code) == (201, 201), (sold.json, bought.json)


@pytest.fixture
def stores(settings, redis_client):
    """Settlement into both stores, as the worker does it, with consumers that keep their state."""
    ledger = LedgerOfRecord(mongo.client(settings.mongo_url), mongo.database(settings.mongo_url, settings.mongo_db))
    settlers = [SymbolSettler(redis_client, s) for s in SYMBOLS]
    consumers = [JournalConsumer(redis_client, s, ledger, "test") for s in SYMBOLS]

    def caught_up() -> bool:
        return all(ledger.applied_sequence(s) == int(redis_client.get(keys.seq(s)) or 0) for s in SYMBOLS)

    def settle(until=caught_up, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            moved = sum(step.run_once() for step in (*settlers, *consumers))
            if not moved and until():
                return
            assert time.monotonic() < deadline, "settlement did not get there"
            time.sleep(0.05)
    def stop() -> None:  # as an operator stops the ledger worker before recovering
        for step in (*settlers, *consumers):
            step.stop()

    settle.ledger, settle.consumers, settle.stop = ledger, consumers, stop
    return settle


def test_every_event_carries_the_journal_epoch_and_a_trade_id_unique_across_epochs(client, register,
                                                                                     redis_client):
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob)
    epoch = int(redis_client.get(keys.epoch("KRYP")))
    events = [orjson.loads(f[b"event"]) for _id, f in redis_client.xrange(keys.events("KRYP"))]
    assert {e["epoch"] for e in events} == {epoch}
    trades = [e for e in events if e["type"] == "trade"]
    assert trades and all(e["trade_id"] == f"KRYP-{epoch}-{e['sequence']}" for e in trades)


def test_a_whole_loss_stops_the_ledger_loudly_and_recover_makes_both_stores_agree(
        client, register, redis_client, settings, stores, audit, caplog):
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob)
    client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "price": "12.00", "quantity": 3}, headers=alice)
    stores()
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    trades_before = db[mongo.TRADES].count_documents({})

    redis_client.flushall()  # Redis restarts with nothing: the resting order and the live accounts are gone
    for name, _headers in (("alice", alice), ("bob", bob)):  # logging in opens the live account again
        assert client.post("/api/v1/sessions", json={"username": name, "password": "correct horse"}).status_code == 201
    trade(client, alice, bob, price="11.00", quantity=1)  # trading goes on, in a new epoch
    with caplog.at_level(logging.CRITICAL, logger="ledger.consumer"):
        stores(until=lambda: redis_client.exists(keys.journal_fault("KRYP")))
    assert "Redis lost its data" in caplog.text
    health = client.get("/api/v1/healthz")
    assert health.status_code == 503 and health.json["status"] == "degraded" and "KRYP" in health.json["journal_faults"]
    assert any("KRYP" in p and "epoch" in p for p in audit().problems)
    assert db[mongo.TRADES].count_documents({}) == trades_before  # nothing applied as if it were old

    stores.stop()
    lines = recover(redis_client, settings, mongo.client(settings.mongo_url), db)
    assert any(line.startswith("KRYP: the ledger adopted") for line in lines), lines
    stores()
    report = audit()
    assert report.ok, report.problems
    assert client.get("/api/v1/healthz").status_code == 200
    assert db[mongo.TRADES].count_documents({}) == trades_before + 1
    usd = client.get("/api/v1/account", headers=alice).json["balances"]["USD"]
    assert usd["on_hold"] == "0.00"  # no order survived, so nothing is held
    trade(client, alice, bob, price="11.50", quantity=1)  # and trading settles into both stores again
    stores()
    assert audit().ok and db[mongo.TRADES].count_documents({}) == trades_before + 2


def test_sequences_written_again_after_a_partial_loss_stop_the_ledger_and_keep_both_trades(
        client, register, redis_client, settings, stores, audit):
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob)
    trade(client, alice, bob, price="10.10", quantity=1)
    resting_buy = client.post(ORDERS, json={"symbol": "ADAM", "side": "buy", "price": "5.00", "quantity": 4},
                              headers=bob).json["order_id"]  # on a symbol that keeps its book
    parked_stop = client.post(ORDERS, json={"symbol": "ADAM", "side": "sell", "type": "stop", "stop_price": "4.00",
                                            "quantity": 3}, headers=alice).json
    assert parked_stop["status"] == "untriggered"
    stores()
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    # The append-only file lost the second trade's events (sequences 7-12): the journal and its
    # sequence go back, and the next trade is sequence 10 again.
    entries = redis_client.xrange(keys.events("KRYP"))
    lost = [entry_id for entry_id, fields in entries if orjson.loads(fields[b"event"])["sequence"] > 6]
    redis_client.xdel(keys.events("KRYP"), *lost)
    redis_client.set(keys.seq("KRYP"), 6)
    trade(client, alice, bob, price="9.90", quantity=1)  # the same sequences, written again by new entries
    stores(until=lambda: redis_client.exists(keys.journal_fault("KRYP")))
    assert any("written again" in p for p in audit().problems)

    stores.stop()
    recover(redis_client, settings, mongo.client(settings.mongo_url), db)
    stores()
    report = audit()
    assert report.ok, report.problems
    # The rewritten live account still counts what the resting buy may buy (MAX_POSITION's room).
    live = redis_client.hgetall(keys.account(bob.user_id))
    assert (live[b"ADAM:buying"], live[f"buys:{resting_buy}".encode()]) == (b"4", b"4")
    # A parked stop is an open order too: it keeps its hold in both stores.
    assert client.get("/api/v1/account", headers=alice).json["balances"]["ADAM"]["on_hold"] == 3
    assert client.get(f"{ORDERS}/{parked_stop['order_id']}", headers=alice).json["status"] == "untriggered"
    lost_trades = list(db[mongo.TRADES].find({"lost_from_journal": True}))
    assert len(lost_trades) == 1 and lost_trades[0]["_id"].endswith("~lost")  # the ledger keeps what it saw
    journal_trades = [orjson.loads(f[b"event"])["trade_id"] for _id, f in redis_client.xrange(keys.events("KRYP"))
                      if b'"type":"trade"' in f[b"event"]]
    assert all(db[mongo.TRADES].count_documents({"_id": trade_id}) == 1 for trade_id in journal_trades)


def test_a_journal_behind_the_ledger_is_found_while_idle(client, register, redis_client, stores):
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob)
    stores()
    redis_client.set(keys.seq("KRYP"), 1)  # nothing new to read: only the positions tell
    stores(until=lambda: redis_client.exists(keys.journal_fault("KRYP")), timeout_s=15)
    assert b"behind" in redis_client.get(keys.journal_fault("KRYP"))


def test_recover_refuses_while_a_matcher_is_working(client, register, redis_client, settings, stores):
    alice, bob = register("alice"), register("bob")
    trade(client, alice, bob)
    stores()
    redis_client.set(keys.epoch("KRYP"), 1)  # as if Redis had lost its data
    redis_client.set("redlock:" + keys.lock("KRYP"), "someone")
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    with pytest.raises(RecoveryRefused):
        recover(redis_client, settings, mongo.client(settings.mongo_url), db)


def event(sequence: int, epoch: int = 7) -> journal.JournalEvent:
    return journal.ResumedEvent(symbol="KRYP", epoch=epoch, sequence=sequence, time=0,
                                reason=journal.ResumeReason.OPERATOR)


@pytest.mark.parametrize("entries, fresh", [
    ([(b"10-0", event(4)), (b"11-0", event(5)), (b"12-0", event(6))], [6]),  # a redelivery, then one new
    ([(b"12-0", event(6))], [6]),
])
def test_the_ledger_skips_only_what_it_applied(entries, fresh):
    at = Position(sequence=5, epoch=7, entry_id="11-0")
    assert [e.sequence for _id, e in fresh_entries("KRYP", at, entries)] == fresh


@pytest.mark.parametrize("entries, why", [
    ([(b"20-0", event(1, epoch=8))], "epoch"),  # Redis started again from nothing
    ([(b"20-0", event(5))], "written again"),  # a later entry reuses an applied sequence
])
def test_the_ledger_refuses_a_journal_that_is_not_the_one_it_followed(entries, why):
    with pytest.raises(JournalFault, match=why):
        fresh_entries("KRYP", Position(sequence=5, epoch=7, entry_id="11-0"), entries)
