"""Each web replica follows every symbol's journal and tells its own clients.

One ``BookFeed`` per symbol: it starts from an atomic read of the resting
orders, the sequence and the last journal entry id (``resting_orders.lua``),
then follows the journal on from exactly there. A ``JournalReader`` loop, in
its own (green) thread, reads the journals of several feeds in one XREAD BLOCK:
of every symbol on one Redis, of one symbol on a cluster, whose symbols live on
different slots. Each journal entry updates the in-memory L2 book
(``web.levels``) and becomes ``trade`` and private ``order`` events; each read
batch becomes one ``book_update``. Everything goes to this replica's own
clients only (``ignore_queue``): every replica reads the journal itself, so
nothing needs the message queue. A payload nobody in its room on this replica
would get is not built (``watched``): most orders come from bots that never
connect a socket, and a user's socket is on one replica of several.

``book_update``s chain: each one's ``prev_sequence`` is the ``sequence`` of the
one before, and a new subscriber's ``book_snapshot`` is taken from the same
book under the same lock, so its first update chains onto the snapshot. A
replica that finds a gap in the journal (it fell behind past the retention
trim) reloads the book and sends the difference as one update.

Failures never leave clients silently wrong: the feed remembers the levels it
has sent (``shown``), sends what a batch changed before any error propagates,
and after any failure (Redis, a malformed event, an emit) it reloads the book
and sends the difference from what clients were actually sent. The reader's
loop survives every ``Exception``, and one feed's failure leaves the others
going; ``healthy()`` says whether a feed is turning and in sync.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import redis

from exchange import journal, keys, redis_client, rooms
from exchange.metrics import WEB_RESYNCS
from exchange.scripts import source
from exchange.trading_status import TradingStatus
from web import messages
from web.levels import BUY, SELL, LevelBook, RestingOrder, changes_between, merge

log = logging.getLogger("web.feeds")

READ_COUNT = 500
BLOCK_MS = 1000
RETRY_S = 1.0  # after a failure: the reader's (Redis away), or one feed's turn (that feed alone waits)
STALL_S = 15.0  # a loop wakes at least every BLOCK_MS; this long without a turn means it is stuck or dead

# emit(event, payload, room or sid): sends to this replica's own clients only.
Emit = Callable[[str, dict, str], None]
# enter_room(sid, room)
EnterRoom = Callable[[str, str], None]
# watched(room): whether any client of this replica is in the room
Watched = Callable[[str], bool]


class BookFeed:
    def __init__(self, client: redis.Redis, symbol: str, emit: Emit, enter_room: EnterRoom, watched: Watched):
        self.client = client
        self.symbol = symbol
        self.emit = emit
        self.enter_room = enter_room
        self.watched = watched
        self.journal_key = keys.events(symbol)
        self.read_resting = client.register_script(source("resting_orders"))
        self.lock = threading.Lock()
        self.book = LevelBook()
        self.last_id = b"0-0"
        self.sent_sequence = 0  # the sequence the book_update chain is at
        # The levels clients hold: the book as of the last update sent. Equal to the
        # book's levels while in sync; after a failure, what a reload diffs against.
        self.shown: dict[str, dict[int, int]] = {BUY: {}, SELL: {}}
        self.in_sync = False
        self.reloads = 0
        self.failures = 0
        self.last_turn = time.monotonic()  # when its reader last finished a read (or it recovered)
        self.retry_at = 0.0  # after a failed turn, its reader leaves it out of reads until then

    # ---- state ------------------------------------------------------------------

    def load(self) -> tuple[LevelBook, bytes]:
        s = self.symbol
        seq, last_id, flat = self.read_resting(
            keys=[keys.seq(s), keys.bids(s), keys.asks(s), keys.orders(s), keys.events(s)])
        resting = {flat[i].decode(): RestingOrder(flat[i + 1].decode(), int(flat[i + 2]), int(flat[i + 3]))
                   for i in range(0, len(flat), 4)}
        return LevelBook(int(seq), resting), last_id

    def start(self) -> None:
        """Load the book before serving anyone, so a first subscriber gets a real snapshot."""
        self.book, self.last_id = self.load()
        self.sent_sequence = self.book.sequence
        self.shown = {side: dict(self.book.totals[side]) for side in (BUY, SELL)}
        self.in_sync = True
        self.last_turn = time.monotonic()

    def healthy(self, stall_s: float) -> bool:
        """In sync with the journal, and the loop turned within ``stall_s`` (it wakes every BLOCK_MS)."""
        return self.in_sync and time.monotonic() - self.last_turn < stall_s

    # ---- subscribers --------------------------------------------------------------

    def subscribe(self, sid: str) -> None:
        """Snapshot to ``sid`` and join the book room, between two updates."""
        with self.lock:
            if not self.in_sync:  # the book may hold half a failed event: reload first
                self._resync()
            self._catch_up_chain()
            self.emit("book_snapshot", messages.book_snapshot(self.symbol, self.book), sid)
            status = TradingStatus.from_json(self.client.get(keys.trading_status(self.symbol)))
            self.emit("status", {"symbol": self.symbol, **status.as_view(int(time.time() * 1000))}, sid)
            self.enter_room(sid, rooms.channel(self.symbol, "book"))

    def _catch_up_chain(self) -> None:
        # Batches that changed no level send nothing; before a snapshot at a later
        # sequence, an empty update moves everyone's chain up to it.
        if self.book.sequence != self.sent_sequence:
            self._send_update([])

    def _send_update(self, changes: list) -> None:
        room = rooms.channel(self.symbol, "book")
        update = (messages.book_update(self.symbol, self.book.sequence, self.sent_sequence, changes)
                  if self.watched(room) else None)
        # Counted as sent before the emit: a client an emit failure skipped sees a
        # prev_sequence it does not hold on the next update, and resubscribes. (A client that
        # joins meanwhile does so under the lock, with a snapshot at the chain's sequence.)
        self.sent_sequence = self.book.sequence
        for side, price, total in changes:
            if total:
                self.shown[side][price] = total
            else:
                self.shown[side].pop(price, None)
        if update is not None:
            self.emit("book_update", update, room)

    # ---- the journal ------------------------------------------------------------------

    def turn(self, entries: list) -> bool:
        """Catch up after a failure, then apply what its reader read (maybe nothing); False if
        either failed (the feed stays out of sync, and the next turn reloads)."""
        try:
            if not self.in_sync:
                with self.lock:
                    self._resync()
            if entries:
                self.apply(entries)
        except Exception:  # noqa: BLE001 - one bad batch must not end this symbol's feed
            self.failures += 1
            self.in_sync = False
            log.exception("%s: following the journal failed; reloading the book", self.symbol)
            return False
        self.last_turn = time.monotonic()
        return True

    def apply(self, entries: list) -> None:
        """Apply one read batch of journal entries and tell the clients.

        Whatever happens, the levels changed by the entries applied so far are sent
        (they are the book at ``book.sequence``); an error leaves the feed out of sync
        (the failing event may be half applied), and the next step reloads."""
        with self.lock:
            changes = []
            try:
                for entry_id, fields in entries:
                    sequence = journal.entry_sequence(fields)
                    if sequence <= self.book.sequence:  # already in the snapshot we started from
                        self.last_id = entry_id
                        continue
                    if sequence != self.book.sequence + 1:
                        log.warning("%s: journal gap after sequence %d", self.symbol, self.book.sequence)
                        self.in_sync = False
                        break
                    # Decoded one at a time: the entries before a malformed one still apply.
                    event = journal.decode_entry(fields)
                    changes += self.book.apply(event)
                    self.book.sequence = sequence
                    self.last_id = entry_id
                    self._send_events(event)
            except Exception:
                self.in_sync = False
                raise
            finally:
                if changes:
                    self._send_update(merge(changes))
            if not self.in_sync:
                self._resync()

    def _resync(self) -> None:
        """Start again from the book as it is now in Redis (entries were trimmed before
        this replica read them, or following them failed)."""
        WEB_RESYNCS.labels(self.symbol).inc()
        changed = self._reload()
        self.reloads += 1
        log.warning("%s: reloaded the book at sequence %d (%d levels differed from what was sent)",
                    self.symbol, self.book.sequence, changed)

    def reload(self) -> None:
        """Where a paused reader resumes (see JournalReader)."""
        with self.lock:
            self._reload()

    def _reload(self) -> int:
        """The book as it is now in Redis, read on from there; clients are sent the difference
        from the levels they were last sent (built only if anyone here watches). How many differed."""
        fresh, last_id = self.load()
        changes = changes_between(self.shown, fresh)
        self.book, self.last_id = fresh, last_id
        self.in_sync, self.retry_at = True, 0.0
        if changes:
            self._send_update(changes)
        return len(changes)

    def _send_events(self, event: journal.JournalEvent) -> None:
        if isinstance(event, journal.TradeEvent):
            if self.watched(trades := rooms.channel(self.symbol, "trades")):
                self.emit("trade", messages.trade(event), trades)
        elif isinstance(event, journal.HaltedEvent | journal.ResumedEvent):
            # Those who see the book learn whether it takes orders.
            self.emit("status", messages.trading_status(event), rooms.channel(self.symbol, "book"))
        for user_id, payload in messages.order_events(event, lambda user_id: self.watched(rooms.user(user_id))):
            self.emit("order", payload, rooms.user(user_id))


class JournalReader:
    """One loop reading the journals of ``feeds`` in one XREAD BLOCK and handing each feed its
    entries; their streams must be on one node (every symbol's on one Redis, one symbol's on a
    cluster). A feed whose turn failed is left out of the reads for a second before it reloads;
    the others go on. The loop survives every ``Exception``: Redis away, every feed reloads once
    it answers again.

    While ``anyone_connected()`` says no client is connected to this replica, the loop reads
    nothing: nobody here is owed a book update, a trade or an order event, and following the
    journals for nobody cost about half of what the web tier spent per order (most orders are
    bots' that never open a socket). ``follow()``, which a connecting client calls before it is
    told it is connected, reloads the books and starts reading again from where they were read."""

    def __init__(self, client: redis.Redis, feeds: list[BookFeed],
                 anyone_connected: Callable[[], bool] = lambda: True):
        self.feeds = {feed.journal_key.encode(): feed for feed in feeds}
        self.anyone_connected = anyone_connected
        self.following = True  # the feeds' books are those Feeds.start loaded
        self.switching = threading.Lock()  # following or not, against a client connecting meanwhile
        self.woken = threading.Event()
        # The loop's own connection: it reads once a commit under load, and a read through the pool
        # costs a checkout (a socket poll) and a return on top. (A cluster client routes each read
        # to its slot's node over connections of its own.)
        self.own_connection = not redis_client.is_cluster(client)
        self.connection = redis.Redis(connection_pool=client.connection_pool,
                                      single_connection_client=True) if self.own_connection else client
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                if self._paused():
                    self.woken.wait(BLOCK_MS / 1000)
                    self.woken.clear()
                    continue
                self.follow()
                self._read_once()
            except Exception:  # noqa: BLE001 - Redis away: every feed reloads once it is back
                log.exception("reading the journals of %s failed", ", ".join(f.symbol for f in self.feeds.values()))
                for feed in self.feeds.values():
                    feed.failures += 1
                    feed.in_sync = False
                self.stopping.wait(RETRY_S)

    def _read_once(self) -> None:
        """One XREAD for the feeds not waiting after a failed turn, and a turn for each of them."""
        now = time.monotonic()
        due = {key: feed for key, feed in self.feeds.items() if feed.retry_at <= now}
        if not due:
            self.stopping.wait(min(feed.retry_at for feed in self.feeds.values()) - now)
            return
        read = dict(self.connection.xread({key: feed.last_id for key, feed in due.items()},
                                          count=READ_COUNT, block=BLOCK_MS))
        for key, feed in due.items():
            if not feed.turn(read.get(key, [])):
                feed.retry_at = time.monotonic() + RETRY_S

    def follow(self) -> None:
        """Read the journals again if the loop is paused: each feed reloads its book first, so a
        client connecting now gets every event after the call returns. If a reload fails, the
        feeds not reloaded stay out of sync (a subscriber reloads one itself) and the loop tries
        again within a second."""
        with self.switching:
            if not self.following:
                for feed in self.feeds.values():
                    feed.in_sync = False
                for feed in self.feeds.values():
                    feed.reload()
                self.following = True
        self.woken.set()

    def _paused(self) -> bool:
        """Whether the loop reads nothing this turn, no client being connected. It still asks the
        journals' node whether they exist, so that an idle replica's health says whether Redis
        answers (outside the lock: a Redis that does not answer holds up no connecting client);
        answering, its feeds count as turning and in sync: they owe nobody anything, and
        ``follow()`` reloads every book before anyone can see it."""
        if self.anyone_connected():
            return False
        self.connection.exists(*self.feeds)  # routed by the keys, on a cluster to their slot's node
        with self.switching:
            if self.anyone_connected():
                return False
            self.following = False
            now = time.monotonic()
            for feed in self.feeds.values():
                feed.in_sync, feed.last_turn = True, now
        return True

    def stop(self) -> None:
        self.stopping.set()
        self.woken.set()
        if self.own_connection:
            self.connection.close()  # its connection back to the pool


class Feeds:
    """Every symbol's BookFeed, and the JournalReaders that feed them, each reader's loop in a
    background task of the Socket.IO server."""

    def __init__(self, client: redis.Redis, symbols: tuple[str, ...], emit: Emit, enter_room: EnterRoom,
                 watched: Watched, anyone_connected: Callable[[], bool] = lambda: True):
        self.by_symbol = {s: BookFeed(client, s, emit, enter_room, watched) for s in symbols}
        feeds = list(self.by_symbol.values())
        # One Redis: one read for every symbol. A cluster keeps each symbol on a slot of its own.
        groups = [[feed] for feed in feeds] if redis_client.is_cluster(client) else [feeds]
        self.readers = [JournalReader(client, group, anyone_connected) for group in groups]

    def start(self, start_background_task) -> None:
        for feed in self.by_symbol.values():
            feed.start()
        for reader in self.readers:
            start_background_task(reader.run)

    def stop(self) -> None:
        for reader in self.readers:
            reader.stop()

    def follow(self) -> None:
        """Before a client is told it is connected: every journal is read (see JournalReader)."""
        for reader in self.readers:
            reader.follow()

    def following(self) -> bool:
        """Whether the journals are read: any client connected (else ``sequences`` stand still)."""
        return all(reader.following for reader in self.readers)

    def sequences(self) -> dict[str, int]:
        return {s: feed.book.sequence for s, feed in self.by_symbol.items()}

    def unhealthy(self, stall_s: float = STALL_S) -> list[str]:
        """Symbols whose feed is out of sync (failing to recover) or whose loop stopped turning."""
        return [s for s, feed in self.by_symbol.items() if not feed.healthy(stall_s)]
