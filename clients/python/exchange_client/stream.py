"""Live market data over Socket.IO for a bot: a local copy of books, trades and tickers.

    stream = MarketStream("http://127.0.0.1:8080", token=client.token)
    stream.subscribe("KRYP")            # book, trades, ticker
    stream.best_bid("KRYP"), stream.last_price("KRYP"), stream.recent_prices("KRYP", 20)

It speaks the web tier's protocol (ARCHITECTURE.md): ``subscribe {symbol, channels}``,
then ``book_snapshot`` and chained ``book_update`` (``prev_sequence`` must be the
sequence it holds; on a gap it subscribes again, once, for a fresh snapshot),
``trade``, ``ticker``, and with a token the user's private ``order`` events (until
the token is revoked or expires: then ``session_ended`` holds why). It
remembers its subscriptions and sends them again after every reconnect (a web
replica restarted); while disconnected, or waiting for a snapshot after a gap,
a book is ``stale`` (``is_stale(symbol)``) and updates are not applied to it. It uses the
websocket transport only, so it needs no sticky cookie, and handles events in the order
the server sent them (``in_order.py``). Prices are kept as integer ticks. The strategies
poll the REST API instead (simpler, and enough at their pace); this is for bots that want
to react to every change.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from .in_order import InOrderClient
from .money import to_cents

CHANNELS = ("book", "trades", "ticker")


@dataclass
class LiveBook:
    sequence: int = -1
    # True until a snapshot arrives, and again after a disconnect or a gap: its
    # levels may be out of date, and updates wait for the next snapshot.
    stale: bool = True
    bids: dict[int, int] = field(default_factory=dict)  # price ticks -> quantity
    asks: dict[int, int] = field(default_factory=dict)


class MarketStream:
    def __init__(self, base_url: str, token: str | None = None, *, keep_trades: int = 1000, timeout: float = 10):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.books: dict[str, LiveBook] = defaultdict(LiveBook)
        self.trades: dict[str, deque] = defaultdict(lambda: deque(maxlen=keep_trades))  # trade payloads, oldest first
        self.tickers: dict[str, dict] = {}
        self.orders: deque = deque(maxlen=keep_trades)  # private order events, oldest first
        self.errors: list[dict] = []
        self.session_ended: dict | None = None  # {code, message} once the server ended our token's session
        self.resyncs = 0
        self.subscriptions: dict[str, set[str]] = {}  # symbol -> channels, sent again on every connect
        self.sio = InOrderClient(reconnection=True)  # a book_update never overtakes the one it chains onto
        for event, handler in (("connect", self._on_connect), ("disconnect", self._on_disconnect),
                               ("book_snapshot", self._on_snapshot), ("book_update", self._on_update),
                               ("trade", self._on_trade), ("ticker", self._on_ticker), ("order", self._on_order),
                               ("error", self._on_error), ("session_ended", self._on_session_ended)):
            self.sio.on(event, handler)

    # ---- connection ----------------------------------------------------------------------

    def connect(self) -> "MarketStream":
        self.sio.connect(self.base_url, auth={"token": self.token} if self.token else None,
                         transports=["websocket"], socketio_path="socket.io", wait_timeout=self.timeout)
        return self

    def subscribe(self, symbol: str, channels: tuple[str, ...] = CHANNELS) -> None:
        with self.lock:
            self.subscriptions.setdefault(symbol, set()).update(channels)
        if not self.sio.connected:
            self.connect()  # its connect handler sends every subscription, this one included
        else:
            self.sio.emit("subscribe", {"symbol": symbol, "channels": list(channels)})

    def close(self) -> None:
        self.sio.disconnect()

    def __enter__(self) -> "MarketStream":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- reading the local copy ---------------------------------------------------------------

    def is_stale(self, symbol: str) -> bool:
        """True while the book may be out of date: no snapshot since connecting, or a gap."""
        with self.lock:
            return self.books[symbol].stale

    def best_bid(self, symbol: str) -> int | None:
        with self.lock:
            return max(self.books[symbol].bids, default=None)

    def best_ask(self, symbol: str) -> int | None:
        with self.lock:
            return min(self.books[symbol].asks, default=None)

    def levels(self, symbol: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids best first, asks best first) as (price ticks, quantity)."""
        with self.lock:
            book = self.books[symbol]
            return sorted(book.bids.items(), reverse=True), sorted(book.asks.items())

    def last_price(self, symbol: str) -> int | None:
        with self.lock:
            trades = self.trades[symbol]
            return to_cents(trades[-1]["price"]) if trades else None

    def recent_prices(self, symbol: str, count: int) -> list[int]:
        """The last ``count`` trade prices seen, oldest first."""
        with self.lock:
            return [to_cents(t["price"]) for t in list(self.trades[symbol])[-count:]]

    def wait_for(self, predicate, timeout: float | None = None) -> bool:
        """Block until ``predicate()`` holds (checked after every event); False on timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self.changed:  # an event landing before this wait is caught by the next check
                self.changed.wait(min(left, 0.25))
        return True

    # ---- events -------------------------------------------------------------------------------

    def _on_connect(self) -> None:
        # A reconnect lands on a server that knows nothing of this client.
        with self.lock:
            subscriptions = [(symbol, sorted(channels)) for symbol, channels in self.subscriptions.items()]
        for symbol, channels in subscriptions:
            self.sio.emit("subscribe", {"symbol": symbol, "channels": channels})

    def _on_disconnect(self, *reason) -> None:
        with self.changed:
            for book in self.books.values():
                book.stale = True  # updates missed from now on; the next snapshot replaces it
            self.changed.notify_all()

    def _on_snapshot(self, data: dict) -> None:
        with self.changed:
            self.books[data["symbol"]] = LiveBook(
                sequence=data["sequence"], stale=False,
                bids={to_cents(p): q for p, q in data["bids"]}, asks={to_cents(p): q for p, q in data["asks"]})
            self.changed.notify_all()

    def _on_update(self, data: dict) -> None:
        symbol = data["symbol"]
        gap = False
        with self.changed:
            book = self.books[symbol]
            if book.stale:
                pass  # a snapshot is on its way (asked for once): it replaces the book
            elif data["prev_sequence"] != book.sequence:
                gap = data["sequence"] > book.sequence  # else an update older than our snapshot
                book.stale = gap
            else:
                for side, price, quantity in data["changes"]:
                    levels = book.bids if side in ("buy", "bid", "bids") else book.asks
                    if quantity:
                        levels[to_cents(price)] = quantity
                    else:
                        levels.pop(to_cents(price), None)
                book.sequence = data["sequence"]
            self.changed.notify_all()
        if gap:  # a missed update: start again from a fresh snapshot, asked for once per gap
            self.resyncs += 1
            self.sio.emit("subscribe", {"symbol": symbol, "channels": ["book"]})

    def _on_trade(self, data: dict) -> None:
        with self.changed:
            self.trades[data["symbol"]].append(data)
            self.changed.notify_all()

    def _on_ticker(self, data: dict) -> None:
        with self.changed:
            self.tickers[data["symbol"]] = data
            self.changed.notify_all()

    def _on_order(self, data: dict) -> None:
        with self.changed:
            self.orders.append(data)
            self.changed.notify_all()

    def _on_error(self, data: dict) -> None:
        with self.changed:
            self.errors.append(data)
            self.changed.notify_all()

    def _on_session_ended(self, data: dict) -> None:
        """Our token was revoked or expired: the server stops our order events and disconnects us."""
        with self.changed:
            self.session_ended = data
            self.changed.notify_all()
