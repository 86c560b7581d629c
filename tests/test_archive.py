"""The journal's archive in MongoDB: every event exactly once, in buckets, before retention trims it."""
from __future__ import annotations

import logging
import random

import pytest

from exchange import journal, keys, mongo
from ledger import retention
from ledger.archive import ArchivePosition, JournalArchiver, archived_position, next_bucket
from tests.test_ledger import trade_randomly

SYMBOLS = ("KRYP", "ADAM")


@pytest.fixture
def db(settings, app):
    database = mongo.database(settings.mongo_url, settings.mongo_db)
    mongo.ensure_indexes(database)
    return database


def journal_documents(redis_client, symbol: str) -> list[dict]:
    """The live journal, each event decoded and given back as the plain dict the archive stores."""
    return [journal.as_document(event) for _id, event in journal.read_entries(redis_client.xrange(keys.events(symbol)))]


def archived(db, symbol: str) -> list[dict]:
    buckets = db[mongo.EVENTS].find({"symbol": symbol}).sort([("epoch", 1), ("first_sequence", 1)])
    return [event for bucket in buckets for event in bucket["events"]]


def run_dry(*archivers: JournalArchiver) -> int:
    total = 0
    while moved := sum(archiver.run_once() for archiver in archivers):
        total += moved
    return total


def test_every_event_is_archived_once_in_buckets_and_retention_waits_for_the_archive(
        client, register, redis_client, db, settle):
    users = [register(name) for name in ("alice", "bob", "carol", "dave")]
    trade_randomly(client, users, random.Random(7), 120)
    archivers = [JournalArchiver(redis_client, s, db, batch_size=25, wait_ms=0) for s in SYMBOLS]
    assert run_dry(*archivers) == sum(len(journal_documents(redis_client, s)) for s in SYMBOLS)
    for symbol in SYMBOLS:
        events = journal_documents(redis_client, symbol)
        assert len(events) > 50
        assert archived(db, symbol) == events  # every field of every event, in order, once
        buckets = list(db[mongo.EVENTS].find({"symbol": symbol}).sort("first_sequence", 1))
        assert all(len(b["events"]) <= 25 for b in buckets) and len(buckets) >= len(events) // 25
        for before, after in zip(buckets, buckets[1:]):
            assert after["first_sequence"] == before["last_sequence"] + 1
        assert buckets[0]["_id"] == f"{symbol}:{events[0]['epoch']}:{1:012d}"
        assert redis_client.get(keys.archived_cursor(symbol)).decode() == buckets[-1]["last_entry_id"]
    # Retention drops what every reader passed, the archive included, and nothing it has not.
    settle()
    for symbol in SYMBOLS:
        redis_client.set(keys.ticker_cursor(symbol), redis_client.xrevrange(keys.events(symbol), count=1)[0][0])
    cut = redis_client.xrange(keys.events("KRYP"))[30][0]
    redis_client.set(keys.archived_cursor("KRYP"), cut)
    far_future = 10**13
    assert retention.trim(redis_client, "KRYP", now_ms=far_future) == 30
    assert redis_client.xrange(keys.events("KRYP"))[0][0] == cut


def test_a_short_bucket_waits_for_company_then_goes_alone(client, register, redis_client, db):
    alice, bob = register("alice"), register("bob")
    trade_randomly(client, [alice, bob], random.Random(1), 3)
    waiting = JournalArchiver(redis_client, "KRYP", db, batch_size=500, wait_ms=60_000)
    assert run_dry(waiting) == 0 and db[mongo.EVENTS].count_documents({}) == 0
    waiting.wait_ms = 0
    assert run_dry(waiting) == len(journal_documents(redis_client, "KRYP")) > 0


def test_a_crash_after_writing_and_a_holder_that_lost_its_lease_double_nothing(
        client, register, redis_client, db):
    users = [register(name) for name in ("alice", "bob", "carol")]
    trade_randomly(client, users, random.Random(5), 80)
    entries = journal.read_documents(redis_client.xrange(keys.events("KRYP")))
    # A holder wrote a bucket (and the archive's cursor, in the same transaction) and died before
    # moving the Redis cursor.
    first = JournalArchiver(redis_client, "KRYP", db, batch_size=10, wait_ms=0)
    assert first.lease.ensure() and first.apply_batch() == 10
    redis_client.delete(keys.archived_cursor("KRYP"))
    first.lease.release()
    successor = JournalArchiver(redis_client, "KRYP", db, batch_size=10, wait_ms=0)
    assert successor.run_once() > 0
    assert archived_position(db, "KRYP").sequence > 10
    # A holder whose lease ran out unawares still believes the archive is where it left it.
    stale = JournalArchiver(redis_client, "KRYP", db, batch_size=10, wait_ms=0)
    stale.position, stale.tenure = ArchivePosition(entries[0][1]["epoch"], 10, entries[9][0]), 0
    assert stale._write(next_bucket("KRYP", stale.position, entries[10:20])) == 0  # MongoDB refused it
    assert stale.position is None  # so it reads the archive's position before going on
    successor.lease.release()
    run_dry(stale)
    assert archived(db, "KRYP") == journal_documents(redis_client, "KRYP")


def test_a_gap_stops_the_archive_and_a_new_epoch_starts_a_new_run(client, register, redis_client, db, caplog):
    users = [register(name) for name in ("alice", "bob", "carol")]
    trade_randomly(client, users, random.Random(9), 40)
    archiver = JournalArchiver(redis_client, "KRYP", db, batch_size=500, wait_ms=0)
    run_dry(archiver)
    held = archived_position(db, "KRYP").sequence
    trade_randomly(client, users, random.Random(10), 40)
    lost = redis_client.xrange(keys.events("KRYP"), min=b"(" + archiver.position.entry_id, count=2)
    redis_client.xdel(keys.events("KRYP"), lost[0][0])  # as if the append-only file lost a write
    with caplog.at_level(logging.CRITICAL, logger="ledger.archive"):
        assert run_dry(archiver) == 0
    assert archived_position(db, "KRYP").sequence == held
    assert "archive stopped for KRYP" in caplog.text and f"up to sequence {held}" in caplog.text
    # Redis lost everything: the journal starts again at 1 in a new epoch, archived beside the old one.
    old_epoch = archiver.position.epoch
    for key in redis_client.scan_iter("ob:{KRYP}:*"):
        redis_client.delete(key)
    trade_randomly(client, users, random.Random(11), 20)
    archiver.lease.release()
    fresh = JournalArchiver(redis_client, "KRYP", db, batch_size=500, wait_ms=0)
    assert run_dry(fresh) == len(journal_documents(redis_client, "KRYP")) > 0
    position = archived_position(db, "KRYP")
    assert position.epoch > old_epoch and position.sequence == len(journal_documents(redis_client, "KRYP"))
    assert db[mongo.EVENTS].count_documents({"symbol": "KRYP", "epoch": old_epoch}) > 0


def test_an_epoch_that_goes_on_in_the_same_journal_continues_the_archive(client, register, redis_client, db):
    """`ledger recover` starts a new epoch in the same journal, its sequences going on."""
    users = [register(name) for name in ("alice", "bob", "carol")]
    trade_randomly(client, users, random.Random(12), 40)
    archiver = JournalArchiver(redis_client, "KRYP", db, batch_size=500, wait_ms=0)
    run_dry(archiver)
    before = archived_position(db, "KRYP")
    redis_client.set(keys.epoch("KRYP"), before.epoch + 1)
    trade_randomly(client, users, random.Random(13), 40)
    assert run_dry(archiver) > 0 and archiver.fault is None
    after = archived_position(db, "KRYP")
    assert after.epoch == before.epoch + 1 and after.sequence == int(redis_client.get(keys.seq("KRYP")))
    assert archived(db, "KRYP") == journal_documents(redis_client, "KRYP")  # each event once, across both epochs
