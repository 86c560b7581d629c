"""Each web replica follows every symbol's journal and tells its own clients.

One ``BookFeed`` per symbol, each in its own (green) thread: it starts from an
atomic read of the resting orders, the sequence and the last journal entry id
(``resting_orders.lua``), then reads the journal on from exactly there
(XREAD BLOCK). Each journal entry updates the in-memory L2 book
(``web.levels``) and becomes ``trade`` and private ``order`` events; each read
batch becomes one ``book_update``. Everything goes to this replica's own
clients only (``ignore_queue``): every replica reads the journal itself, so
nothing needs the message queue.

``book_update``s chain: each one's ``prev_sequence`` is the ``sequence`` of the
one before, and a new subscriber's ``book_snapshot`` is taken from the same
book under the same lock, so its first update chains onto the snapshot. A
replica that finds a gap in the journal (it fell behind past the retention
trim) reloads the book and sends the difference as one update.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import orjson
import redis

from exchange import keys
from exchange.scripts import source
from web import messages, rooms
from web.levels import LevelBook, RestingOrder, merge

log = logging.getLogger("web.feeds")

READ_COUNT = 500
BLOCK_MS = 1000

# emit(event, payload, room or sid): sends to this replica's own clients only.
Emit = Callable[[str, dict, str], None]
# enter_room(sid, room)
EnterRoom = Callable[[str, str], None]


class BookFeed:
    def __init__(self, client: redis.Redis, symbol: str, emit: Emit, enter_room: EnterRoom):
        self.client = client
        self.symbol = symbol
        self.emit = emit
        self.enter_room = enter_room
        self.read_resting = client.register_script(source("resting_orders"))
        self.lock = threading.Lock()
        self.book = LevelBook()
        self.last_id = b"0-0"
        self.sent_sequence = 0  # the sequence the book_update chain is at
        self.reloads = 0
        self.stopping = threading.Event()

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

    # ---- subscribers --------------------------------------------------------------

    def subscribe(self, sid: str) -> None:
        """Snapshot to ``sid`` and join the book room, between two updates."""
        with self.lock:
            self._catch_up_chain()
            self.emit("book_snapshot", messages.book_snapshot(self.symbol, self.book), sid)
            self.enter_room(sid, rooms.channel(self.symbol, "book"))

    def _catch_up_chain(self) -> None:
        # Batches that changed no level send nothing; before a snapshot at a later
        # sequence, an empty update moves everyone's chain up to it.
        if self.book.sequence != self.sent_sequence:
            self._send_update([])

    def _send_update(self, changes: list) -> None:
        update = messages.book_update(self.symbol, self.book.sequence, self.sent_sequence, changes)
        self.emit("book_update", update, rooms.channel(self.symbol, "book"))
        self.sent_sequence = self.book.sequence

    # ---- the journal ------------------------------------------------------------------

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                read = self.client.xread({keys.events(self.symbol): self.last_id}, count=READ_COUNT,
                                         block=BLOCK_MS)
                if read:
                    self.apply(read[0][1])
            except redis.RedisError as error:
                log.warning("%s: reading the journal failed (%s); retrying", self.symbol, error)
                time.sleep(1)

    def apply(self, entries: list) -> None:
        """Apply one read batch of journal entries and tell the clients."""
        with self.lock:
            changes = []
            for entry_id, fields in entries:
                sequence = int(fields[b"sequence"])
                if sequence <= self.book.sequence:  # already in the snapshot we started from
                    self.last_id = entry_id
                    continue
                if sequence != self.book.sequence + 1:
                    changes += self._reload()
                    break
                event = orjson.loads(fields[b"event"])
                changes += self.book.apply(event)
                self.book.sequence = sequence
                self.last_id = entry_id
                self._send_events(event)
            if changes:
                self._send_update(merge(changes))

    def _reload(self) -> list:
        """Entries were trimmed before this replica read them: start again from the
        book as it is now, and return what changed since our copy."""
        fresh, last_id = self.load()
        self.reloads += 1
        log.warning("%s: journal gap after sequence %d; reloaded the book at %d",
                    self.symbol, self.book.sequence, fresh.sequence)
        changes = self.book.diff(fresh)
        self.book, self.last_id = fresh, last_id
        return changes

    def _send_events(self, event: dict) -> None:
        if event["type"] == "trade":
            self.emit("trade", messages.trade(event), rooms.channel(self.symbol, "trades"))
        for user_id, payload in messages.order_events(event):
            self.emit("order", payload, rooms.user(user_id))


class Feeds:
    """Every symbol's BookFeed, each run in a background task of the Socket.IO server."""

    def __init__(self, client: redis.Redis, symbols: tuple[str, ...], emit: Emit, enter_room: EnterRoom):
        self.by_symbol = {s: BookFeed(client, s, emit, enter_room) for s in symbols}

    def start(self, start_background_task) -> None:
        for feed in self.by_symbol.values():
            feed.start()
            start_background_task(feed.run)

    def stop(self) -> None:
        for feed in self.by_symbol.values():
            feed.stopping.set()

    def sequences(self) -> dict[str, int]:
        return {s: feed.book.sequence for s, feed in self.by_symbol.items()}
