"""A web replica's journal feed on a real redis-server, fed by the real matcher.

What a client sees (a book_snapshot, then book_updates chained by
prev_sequence) must rebuild exactly the book REST serves, including for a
client that subscribes midway and after the journal was trimmed under the feed.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
import redis

from exchange import journal, keys, rooms
from exchange.money import format_price
from exchange.scripts import Scripts
from orderbook.commands import encode_halt, encode_resume
from orderbook.market import book_levels
from orderbook.matcher import SymbolMatcher
from tests.polling import wait_for as wait_until
from tests.test_matcher_redis import SYMBOL, enqueue, stream
from web import feeds as journal_feeds
from web import messages
from web.feeds import BookFeed, JournalReader


class Client:
    """A client as the page is: applies a snapshot, then chained deltas."""

    def __init__(self):
        self.sequence = None
        self.levels = {"buy": {}, "sell": {}}
        self.trades, self.orders, self.statuses = [], [], []

    def snapshot(self, data):
        self.sequence = data["sequence"]
        self.levels = {"buy": dict(map(tuple, data["bids"])), "sell": dict(map(tuple, data["asks"]))}

    def update(self, data):
        assert data["prev_sequence"] == self.sequence, "a gap in the book_update chain"
        assert data["sequence"] >= self.sequence
        self.sequence = data["sequence"]
        for side, price, quantity in data["changes"]:
            if quantity:
                self.levels[side][price] = quantity
            else:
                self.levels[side].pop(price, None)

    def book(self) -> dict:
        return {"symbol": SYMBOL, "sequence": self.sequence,
                "bids": sorted(map(list, self.levels["buy"].items()), key=lambda l: -float(l[0])),
                "asks": sorted(map(list, self.levels["sell"].items()), key=lambda l: float(l[0]))}


class Room:
    """The emits of one feed, delivered to in-memory clients by room or sid."""

    def __init__(self):
        self.clients: dict[str, Client] = {}
        self.rooms: dict[str, set[str]] = {}
        self.emitted: list[str] = []

    def emit(self, event, payload, to):
        self.emitted.append(event)
        for sid in self.rooms.get(to, {to} if to in self.clients else set()):
            client = self.clients[sid]
            {"book_snapshot": client.snapshot, "book_update": client.update,
             "trade": client.trades.append, "order": client.orders.append,
             "status": client.statuses.append}[event](payload)

    def enter_room(self, sid, room):
        self.rooms.setdefault(room, set()).add(sid)

    def watched(self, room) -> bool:
        return bool(self.rooms.get(room)) or room in self.clients

    def connect(self, sid) -> Client:
        self.clients[sid] = Client()
        return self.clients[sid]


def rest_book(client) -> dict:
    """What GET /book/{symbol} answers (same script, same formatting)."""
    seq, bids, asks = book_levels(Scripts(client), SYMBOL, 1000)
    def levels(flat):
        return [[format_price(int(flat[i])), int(flat[i + 1])] for i in range(0, len(flat), 2)]
    return {"symbol": SYMBOL, "sequence": seq, "bids": levels(bids), "asks": levels(asks)}


def started_feed(redis_client, symbol: str = SYMBOL) -> tuple[BookFeed, Room]:
    """A feed started on the book as it is, and the room of in-memory clients it tells."""
    room = Room()
    feed = BookFeed(redis_client, symbol, room.emit, room.enter_room, room.watched)
    feed.start()
    return feed, room


def match(client, commands) -> None:
    enqueue(client, commands)
    SymbolMatcher(client, SYMBOL).drain()


def follow(client, feed: BookFeed) -> None:
    """What the feed's loop does, until the journal is read to its end."""
    while True:
        read = client.xread({keys.events(SYMBOL): feed.last_id}, count=50)
        if not read:
            return
        feed.apply(read[0][1])


def test_snapshot_then_deltas_rebuild_the_rest_book(redis_client):
    commands = stream(seed=13, count=400)  # a seed whose book ends with 5 levels
    match(redis_client, commands[:100])  # the feed starts from a book already there
    feed, room = started_feed(redis_client)
    started_at = feed.book.sequence
    early = room.connect("early")
    feed.subscribe("early")
    room.enter_room("early", rooms.channel(SYMBOL, "trades"))
    assert early.book() == rest_book(redis_client)
    assert early.statuses == [{"symbol": SYMBOL, "status": "trading", "halted_until": None, "halt_reason": None}]

    match(redis_client, commands[100:250])
    follow(redis_client, feed)
    late = room.connect("late")  # between two reads: its chain starts at its snapshot
    feed.subscribe("late")
    match(redis_client, commands[250:])
    follow(redis_client, feed)

    expected = rest_book(redis_client)
    assert expected["sequence"] > 400 and len(expected["bids"]) + len(expected["asks"]) >= 2
    assert early.book() == expected
    assert late.book() == expected
    assert 0 < started_at < expected["sequence"]
    # Every trade after the feed's start went out to the trades room, once, in order.
    traded = [e.trade_id for e in read_events(redis_client)
              if isinstance(e, journal.TradeEvent) and e.sequence > started_at]
    assert traded and [t["trade_id"] for t in early.trades] == traded


def test_the_books_subscribers_hear_when_the_symbol_halts_and_reopens(redis_client):
    match(redis_client, stream(seed=5, count=20))
    feed, room = started_feed(redis_client)
    watcher = room.connect("watcher")
    feed.subscribe("watcher")
    for command in (encode_halt(None), encode_resume()):
        redis_client.xadd(keys.inbox(SYMBOL), {"c": command})
        SymbolMatcher(redis_client, SYMBOL).drain()
    follow(redis_client, feed)
    sequences = {type(e): e.sequence for e in read_events(redis_client)}
    assert watcher.statuses[1:] == [
        {"symbol": SYMBOL, "sequence": sequences[journal.HaltedEvent], "status": "halted", "halted_until": None,
         "halt_reason": "operator"},
        {"symbol": SYMBOL, "sequence": sequences[journal.ResumedEvent], "status": "trading", "halted_until": None,
         "halt_reason": None}]
    late = room.connect("late")
    redis_client.xadd(keys.inbox(SYMBOL), {"c": encode_halt(None)})
    SymbolMatcher(redis_client, SYMBOL).drain()
    feed.subscribe("late")  # the status comes with the snapshot
    assert late.statuses[0]["status"] == "halted"


def read_events(client) -> list[journal.JournalEvent]:
    return [event for _id, event in journal.read_entries(client.xrange(keys.events(SYMBOL)))]


def watched_feed(redis_client):
    """A started feed, its room of clients, and one client subscribed to its book."""
    feed, room = started_feed(redis_client)
    watcher = room.connect("watcher")
    feed.subscribe("watcher")
    return feed, room, watcher


def test_a_feed_behind_a_trimmed_journal_reloads_and_keeps_the_chain(redis_client):
    commands = stream(seed=5, count=300)
    feed, room, watcher = watched_feed(redis_client)
    match(redis_client, commands[:100])
    follow(redis_client, feed)
    assert watcher.book() == rest_book(redis_client)

    match(redis_client, commands[100:])
    # Retention trims what this replica has not read yet (it fell behind).
    redis_client.xtrim(keys.events(SYMBOL), maxlen=5, approximate=False)
    follow(redis_client, feed)
    assert feed.reloads == 1
    assert watcher.book() == rest_book(redis_client)


@contextmanager
def running(*feeds: BookFeed, anyone_connected=lambda: True):
    """A reader's loop for the feeds in a thread, as the web server runs it."""
    reader = JournalReader(feeds[0].client, list(feeds), anyone_connected)
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    try:
        yield thread, reader
    finally:
        reader.stop()
        thread.join(timeout=10)


def test_a_reload_that_fails_midway_still_leaves_clients_with_the_rest_book(redis_client):
    """A batch applies entries up to a hole in the journal, then its reload fails
    (Redis error): what that batch changed must still reach the clients, and the
    recovery must diff against what they were sent, not against the feed's book."""
    commands = stream(seed=7, count=300)
    feed, room, watcher = watched_feed(redis_client)
    match(redis_client, commands[:100])
    follow(redis_client, feed)
    assert watcher.book() == rest_book(redis_client)

    match(redis_client, commands[100:])
    unread = [entry_id for entry_id, _ in redis_client.xrange(keys.events(SYMBOL), min=f"({feed.last_id.decode()}")]
    redis_client.xdel(keys.events(SYMBOL), unread[60])  # entries 0..59 apply, then a gap
    broken = threading.Event()
    broken.set()
    load_resting = feed.read_resting

    def read_resting(*args, **kwargs):
        if broken.is_set():
            raise redis.ConnectionError("injected: Redis went away during the reload")
        return load_resting(*args, **kwargs)

    feed.read_resting = read_resting
    expected, started_at = rest_book(redis_client), feed.book.sequence
    with running(feed) as (thread, _reader):
        wait_until(lambda: feed.failures >= 1, "the failed reload")
        assert not feed.healthy(stall_s=60)
        # What the batch applied before the hole was sent at once, chained.
        assert watcher.sequence == started_at + 60
        broken.clear()
        wait_until(lambda: feed.in_sync and feed.book.sequence == expected["sequence"], "the recovery")
        assert thread.is_alive() and feed.healthy(stall_s=60)
    late = room.connect("late")
    feed.subscribe("late")  # also moves everyone's chain up to the book's sequence
    assert watcher.book() == late.book() == expected


def test_an_unexpected_error_in_one_batch_does_not_stop_the_feed(redis_client, monkeypatch):
    commands = stream(seed=9, count=300)
    feed, room, watcher = watched_feed(redis_client)
    order_events = messages.order_events
    raised = []

    def fails_once(event, wanted=messages.everyone):
        if not raised:
            raised.append(event.sequence)
            raise KeyError("injected: an event shape this replica does not know")
        return order_events(event, wanted)

    monkeypatch.setattr(messages, "order_events", fails_once)
    with running(feed) as (thread, _reader):
        match(redis_client, commands[:150])
        first = rest_book(redis_client)
        wait_until(lambda: feed.book.sequence == first["sequence"] and feed.in_sync, "the feed after the error")
        match(redis_client, commands[150:])
        expected = rest_book(redis_client)
        wait_until(lambda: feed.book.sequence == expected["sequence"], "later batches")
        assert thread.is_alive() and raised and feed.failures == 1
    late = room.connect("late")
    feed.subscribe("late")
    assert watcher.book() == late.book() == expected


def test_the_feed_reads_on_a_connection_of_its_own(redis_client, monkeypatch):
    """At most one pool checkout for the loop's reads, not one per read (a socket poll each)."""
    commands = stream(seed=13, count=60)
    feed, _room, watcher = watched_feed(redis_client)
    pool = redis_client.connection_pool
    checkouts_by_thread: list[int] = []
    get_connection = pool.get_connection

    def counted(*args, **kwargs):
        checkouts_by_thread.append(threading.get_ident())
        return get_connection(*args, **kwargs)

    monkeypatch.setattr(pool, "get_connection", counted)
    with running(feed) as (thread, _reader):
        for start in range(0, 60, 3):  # 20 commits, each read as it comes
            match(redis_client, commands[start:start + 3])
        expected = rest_book(redis_client)
        wait_until(lambda: feed.book.sequence == expected["sequence"], "the feed to catch up")
    assert watcher.book() == expected
    assert checkouts_by_thread.count(thread.ident) <= 1, checkouts_by_thread.count(thread.ident)


def test_one_read_follows_every_symbols_journal(redis_client, monkeypatch):
    """On one Redis, one loop reads all the symbols' journals in one XREAD: here a second symbol
    whose journal is a copy of the first's."""
    other = "ADAM"
    kryp, kryp_room, kryp_watcher = watched_feed(redis_client)
    adam, adam_room = started_feed(redis_client, other)
    adam_watcher = adam_room.connect("watcher")
    adam.subscribe("watcher")
    read_keys = []
    with running(kryp, adam) as (thread, _reader):
        reader_xread = redis.Redis.xread

        def counted(client, streams, *args, **kwargs):
            if threading.get_ident() == thread.ident:
                read_keys.append(sorted(streams))
            return reader_xread(client, streams, *args, **kwargs)

        monkeypatch.setattr(redis.Redis, "xread", counted)
        match(redis_client, stream(seed=13, count=200))
        for _id, fields in redis_client.xrange(keys.events(SYMBOL)):
            redis_client.xadd(keys.events(other), fields)
        expected = rest_book(redis_client)
        wait_until(lambda: kryp.book.sequence == adam.book.sequence == expected["sequence"], "both feeds")
    for feed, room, watcher in ((kryp, kryp_room, kryp_watcher), (adam, adam_room, adam_watcher)):
        late = room.connect("late")
        feed.subscribe("late")  # also moves everyone's chain up to the book's sequence
        assert watcher.book() == late.book() == expected  # (Client.book names the test's symbol)
    assert read_keys and all(k == sorted([keys.events(other).encode(), keys.events(SYMBOL).encode()]) for k in read_keys)


def test_nothing_is_sent_or_built_for_rooms_nobody_on_this_replica_is_in(redis_client, monkeypatch):
    feed, room = started_feed(redis_client)
    built = []
    for name in ("book_update", "trade"):
        monkeypatch.setattr(messages, name, lambda *args, name=name: built.append(name))
    match(redis_client, stream(seed=13, count=200))
    follow(redis_client, feed)
    assert room.emitted == [] and built == []
    monkeypatch.undo()
    late = room.connect("late")  # the chain it joins is the book's, all the same
    feed.subscribe("late")
    match(redis_client, stream(seed=14, count=100, id_prefix="p"))
    follow(redis_client, feed)
    assert late.book() == rest_book(redis_client)


def test_with_nobody_connected_no_journal_is_read_and_a_connecting_client_gets_everything_after(
        redis_client, monkeypatch):
    commands = stream(seed=13, count=300)
    feed, room = started_feed(redis_client)
    started_at = feed.book.sequence
    feed.in_sync = False  # as a failed read leaves it
    connected = threading.Event()
    reads = []
    with running(feed, anyone_connected=connected.is_set) as (thread, reader):
        reader_xread = redis.Redis.xread

        def counted(client, *args, **kwargs):
            if threading.get_ident() == thread.ident:
                reads.append(1)
            return reader_xread(client, *args, **kwargs)

        monkeypatch.setattr(redis.Redis, "xread", counted)
        wait_until(lambda: not reader.following, "the reader to pause")
        match(redis_client, commands[:150])
        time.sleep(0.3)
        assert reads == [] and feed.book.sequence == started_at  # nothing read for nobody
        assert feed.healthy(stall_s=1.0)  # and the replica is healthy meanwhile, owing nobody

        def away(*_keys):
            raise redis.ConnectionError("injected: Redis away")

        reader.connection.exists = away  # but not while Redis does not answer
        wait_until(lambda: not feed.healthy(stall_s=1.0), "the idle reader to see Redis away")
        del reader.connection.exists
        wait_until(lambda: feed.healthy(stall_s=1.0), "the idle reader to see Redis back")

        connected.set()  # as the connect handler does, before it says hello
        reader.follow()
        followed_at = feed.book.sequence
        assert reader.following and followed_at == rest_book(redis_client)["sequence"] > started_at
        client = room.connect("late")
        room.enter_room("late", rooms.channel(SYMBOL, "trades"))
        feed.subscribe("late")
        match(redis_client, commands[150:])
        expected = rest_book(redis_client)
        wait_until(lambda: feed.book.sequence == expected["sequence"], "the feed to catch up")
    assert reads and client.book() == expected
    traded = [e.trade_id for e in read_events(redis_client)
              if isinstance(e, journal.TradeEvent) and e.sequence > followed_at]
    assert traded and [t["trade_id"] for t in client.trades] == traded


def failing_loads(feed: BookFeed, monkeypatch) -> set:
    """Each thread's first load of the feed raises as if Redis were away; the set names those threads."""
    failed: set = set()
    load = feed.load

    def flaky():
        if threading.get_ident() not in failed:
            failed.add(threading.get_ident())
            raise redis.ConnectionError("injected: Redis away")
        return load()

    monkeypatch.setattr(feed, "load", flaky)
    return failed


def test_a_resume_that_fails_is_tried_again_and_a_subscriber_meanwhile_gets_the_real_book(
        redis_client, monkeypatch):
    commands = stream(seed=13, count=300)
    feed, room = started_feed(redis_client)
    connected = threading.Event()
    with running(feed, anyone_connected=connected.is_set) as (thread, reader):
        wait_until(lambda: not reader.following, "the reader to pause")
        match(redis_client, commands[:150])
        failed = failing_loads(feed, monkeypatch)
        connected.set()
        with pytest.raises(redis.ConnectionError):
            reader.follow()  # as the connect handler calls it: that connection is refused
        assert not feed.in_sync and not reader.following
        client = room.connect("c")
        feed.subscribe("c")  # out of sync, it reloads itself: not the stale book it paused with
        assert client.book() == rest_book(redis_client)
        # The reader's own resume failed once more; it lives, and tries again a second later.
        wait_until(lambda: reader.following and thread.ident in failed, "the reader to resume")
        match(redis_client, commands[150:])
        expected = rest_book(redis_client)
        wait_until(lambda: feed.book.sequence == expected["sequence"], "the feed to catch up")
        assert thread.is_alive()
    assert client.book() == expected  # one chain through the reload


def test_one_feeds_failure_does_not_hold_up_the_others(redis_client, monkeypatch):
    """A feed whose turn failed is left out of the reads for a while; the other symbols read on."""
    other = "ADAM"
    kryp, _kryp_room, _kryp_watcher = watched_feed(redis_client)
    adam, adam_room = started_feed(redis_client, other)
    monkeypatch.setattr(journal_feeds, "RETRY_S", 30.0)  # long enough to tell the waits apart
    monkeypatch.setattr(kryp, "apply", lambda entries: (_ for _ in ()).throw(KeyError("injected")))
    with running(kryp, adam) as (thread, _reader):
        match(redis_client, stream(seed=13, count=30))
        wait_until(lambda: kryp.failures == 1, "the failing feed's turn")
        for _id, fields in redis_client.xrange(keys.events(SYMBOL)):
            redis_client.xadd(keys.events(other), fields)
        expected = rest_book(redis_client)
        wait_until(lambda: adam.book.sequence == expected["sequence"], "the other feed, within seconds")
        assert kryp.failures == 1 and thread.is_alive()
