"""Rebuild a symbol's book from its archived journal (MongoDB ``events``), with no Redis.

The journal records what happened, so a replay folds events; it never matches
again. Each event must continue the one before (gap-free sequences) and agree
with the book it finds: a trade's maker must be resting with the remaining
quantity the trade says it leaves, an amend or a fill must find its order, a
stop must trigger only once a trade of its command reached its stop price, and
no command may begin while a stop the last command's trades crossed is parked.
A journal that does not agree raises ``ReplayMismatch`` at that sequence.

``JournalReplay`` is pure (events in, book out); ``replay_archive`` feeds it
from MongoDB one bucket at a time, so memory follows the book, not the history.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pymongo.database import Database

from exchange import journal
from ledger.archive import archived_events
from orderbook.book import OrderBook
from orderbook.book_hash import book_hash, book_lines
from orderbook.model import NewOrder, OrderType, RestingOrder, StopOrder


class ReplayMismatch(Exception):
    """The journal does not continue, or does not agree with, the book replayed so far."""


class JournalReplay:
    def __init__(self, symbol: str):
        self.symbol = symbol
        self.book = OrderBook()
        self.epoch: int | None = None
        self.sequence = 0  # the last event applied
        self.halted = False
        self.last_price: int | None = None
        self.accepted: dict[str, tuple[int, int]] = {}  # order id -> (priority, quantity): not yet rested or done
        self.stops: dict[str, StopOrder] = {}  # parked stop orders
        self.traded: tuple[int, int] | None = None  # (low, high) of the current command's trades

    def apply(self, event: journal.JournalEvent) -> None:
        sequence = event.sequence
        if self.epoch is not None and (event.epoch != self.epoch or sequence != self.sequence + 1):
            raise ReplayMismatch(f"{self.symbol}: event {event.epoch}/{sequence} does not follow "
                                 f"{self.epoch}/{self.sequence}")
        self._FOLDS[type(event)](self, event)
        self.epoch, self.sequence = event.epoch, sequence

    def state_hash(self) -> dict:
        """``{symbol, sequence, hash}``, as ``GET /api/v1/book/{symbol}/hash`` answers it."""
        return {"symbol": self.symbol, "sequence": self.sequence, "hash": book_hash(book_lines(self.book))}

    # ---- one method per event kind that changes the book -------------------------------

    def _accepted(self, event: journal.AcceptedEvent) -> None:
        self._command_begins(event.sequence)
        self.accepted[event.order_id] = (event.sequence, event.quantity)

    def _command_begins(self, sequence: int) -> None:
        """An event that only a new command writes first (accepted, a cancel's done, amended,
        command_rejected, voided, halted, resumed): no parked stop the last command's trades
        crossed may still be parked, and the new command's trades are counted afresh."""
        crossed = [s.order_id for s in self.stops.values() if self.traded and s.crossed_by(*self.traded)]
        if crossed:
            raise ReplayMismatch(f"{self.symbol} {sequence}: parked stops {crossed} were crossed by the last "
                                 "command's trades and never triggered")
        self.traded = None

    def _other_command(self, event: journal.JournalEvent) -> None:
        self._command_begins(event.sequence)

    def _parked(self, event: journal.ParkedEvent) -> None:
        if event.order_id not in self.accepted:
            raise ReplayMismatch(f"{self.symbol} {event.sequence}: {event.order_id} parks, never accepted")
        priority, quantity = self.accepted.pop(event.order_id)
        order = NewOrder(event.order_id, event.user_id, event.side, quantity, OrderType.STOP,
                         stop_price=event.stop_price)
        stop = StopOrder(order, priority)
        if self.last_price is not None and stop.crossed_by(self.last_price, self.last_price):
            raise ReplayMismatch(f"{self.symbol} {event.sequence}: {event.order_id} parks at {event.stop_price}, "
                                 f"which the last trade ({self.last_price}) already reached")
        self.stops[event.order_id] = stop

    def _triggered(self, event: journal.TriggeredEvent) -> None:
        stop = self.stops.pop(event.order_id, None)
        if stop is None or self.traded is None or not stop.crossed_by(*self.traded):
            raise ReplayMismatch(f"{self.symbol} {event.sequence}: {event.order_id} triggered, but no trade of "
                                 "its command reached the stop price of a parked stop")
        self.accepted[event.order_id] = (event.sequence, stop.order.quantity)  # it enters the book now

    def _rested(self, event: journal.RestedEvent) -> None:
        order_id = event.order_id
        if order_id not in self.accepted:
            raise ReplayMismatch(f"{self.symbol} {event.sequence}: {order_id} rests, never accepted")
        priority, quantity = self.accepted.pop(order_id)
        self.book.load(RestingOrder(order_id, event.user_id, event.side, event.price, quantity,
                                    event.remaining, priority))

    def _trade(self, event: journal.TradeEvent) -> None:
        maker = self.book.get(event.maker_order_id)
        if maker is None or maker.remaining - event.quantity != event.maker_remaining:
            raise ReplayMismatch(f"{self.symbol} {event.sequence}: the trade's maker {event.maker_order_id} "
                                 f"is not resting with {event.maker_remaining + event.quantity} left")
        self.book.resize(maker.order_id, maker.quantity, event.maker_remaining)
        self.last_price = event.price
        low, high = self.traded or (event.price, event.price)
        self.traded = min(low, event.price), max(high, event.price)

    def _amended(self, event: journal.AmendedEvent) -> None:
        self._command_begins(event.sequence)
        stop = self.stops.get(event.order_id)
        if stop is not None:
            self.stops[event.order_id] = StopOrder(replace(stop.order, quantity=event.quantity), stop.priority)
            return
        if self.book.get(event.order_id) is None:
            raise ReplayMismatch(f"{self.symbol} {event.sequence}: amended {event.order_id} is not resting")
        self.book.resize(event.order_id, event.quantity, event.remaining)

    def _done(self, event: journal.DoneEvent) -> None:
        if event.reason is journal.DoneReason.CANCELED:  # its owner's cancel: a command of its own
            self._command_begins(event.sequence)
        self.stops.pop(event.order_id, None)
        self.book.discard(event.order_id)
        self.accepted.pop(event.order_id, None)

    def _halted(self, event: journal.HaltedEvent) -> None:
        self._command_begins(event.sequence)  # a breaker's halt follows its command's cascade
        self.halted = True

    def _resumed(self, event: journal.ResumedEvent) -> None:
        self._command_begins(event.sequence)
        self.halted = False

    _FOLDS: dict[type, Callable[..., None]] = {
        journal.AcceptedEvent: _accepted, journal.RestedEvent: _rested, journal.TradeEvent: _trade,
        journal.ParkedEvent: _parked, journal.TriggeredEvent: _triggered, journal.AmendedEvent: _amended,
        journal.DoneEvent: _done, journal.HaltedEvent: _halted, journal.ResumedEvent: _resumed,
        journal.CommandRejectedEvent: _other_command, journal.VoidedEvent: _other_command}


def replay_archive(db: Database, symbol: str, *, to_sequence: int | None = None,
                   epoch: int | None = None) -> JournalReplay:
    """The book as the archive leaves it at ``to_sequence`` (default: its last event)."""
    replay = JournalReplay(symbol)
    for event in archived_events(db, symbol, epoch):
        if to_sequence is not None and event.sequence > to_sequence:
            break
        if replay.epoch is None and event.sequence != 1:
            raise ReplayMismatch(f"{symbol}: the archive starts at sequence {event.sequence}, not 1")
        replay.apply(event)
    if to_sequence is not None and replay.sequence < to_sequence:
        raise ReplayMismatch(f"{symbol}: the archive ends at sequence {replay.sequence}, before {to_sequence}")
    return replay
