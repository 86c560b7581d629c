"""One batch of inbox commands matched against the cached book, as the writes that commit it.

``MatchedBatch.apply`` turns one inbox entry into book events (the pure
``OrderBook`` does the matching), records each event in the journal and in the
orders' stored states, and answers the command's submitter. ``finish`` adds the
states and level totals the batch changed. Nothing here does I/O except asking
Redis whether an order id it is told to void exists; the writes go to a
``BatchWriter`` and reach Redis in one commit_batch call (``orderbook.matcher``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import orjson

from exchange import journal, keys
from exchange.journal import DoneReason, HaltReason, OrderRecord, RejectReason, ResumeReason
from exchange.money import fee, price_band
from exchange.order_ids import order_time_ms
from orderbook.book_cache import BookCache
from orderbook.commands import command_problem, decode, hold_for, new_state, resting_price
from orderbook.commit_batch import BatchWriter
from orderbook.model import (
    Accepted,
    Amended,
    CommandRejected,
    Done,
    Halted,
    HaltSymbol,
    NewOrder,
    OrderType,
    Parked,
    Rested,
    Resumed,
    ResumeSymbol,
    Side,
    Status,
    TimeInForce,
    Trade,
    Triggered,
    Voided,
    VoidOrder,
)

# A new order older than this (by the id's entry time) is refused: its hold may have been
# voided so long ago that the voided id is forgotten (kept for VOIDED_MEMORY_MS).
ORDER_MAX_AGE_MS = 24 * 3600 * 1000
VOIDED_MEMORY_MS = 7 * ORDER_MAX_AGE_MS
DONE_STATUSES = frozenset(status.value for status in Status if status.is_done)


@dataclass(frozen=True)
class BookRules:
    """What the matcher refuses or bounds as an order arrives, and when it halts the symbol."""
    max_open_orders: int | None = None  # per user, open GTC limit orders and parked stops (None: no cap)
    price_band_bps: int | None = None  # from the reference price: last trade, else mid (None: no band)
    halt_move_bps: int | None = None  # a move within halt_window_ms that halts the symbol (None: never)
    halt_window_ms: int = 60_000
    halt_ms: int = 30_000  # how long a circuit-breaker halt lasts


class MatchedBatch:
    def __init__(self, cache: BookCache, symbol: str, epoch: int, seq: int, now_ms: int, *,
                 rules: BookRules = BookRules(), own_reply_to: str | None = None):
        self.cache = cache
        self.symbol = symbol
        self.epoch = epoch
        self.start_seq = seq  # the sequence the book was at: the batch commits only onto it
        self.seq = seq  # the last sequence used: the next event gets seq + 1
        self.now_ms = now_ms
        self.rules = rules
        self.own_reply_to = own_reply_to
        self.own_reply: bytes | None = None  # the reply to own_reply_to's command, kept in memory
        self.writer = BatchWriter(symbol)
        self.states: dict[str, OrderRecord] = {}  # every order the batch touched, as it leaves them
        self.levels: set[tuple[Side, int]] = set()  # the price levels the batch changed
        self.breaker_tripped = False  # the command being applied moved the price past HALT_MOVE_BPS
        self.book_collars: dict[str, int] = {}  # market orders whose collar the band pulled in

    # ---- commands -------------------------------------------------------------------------

    def apply(self, entry_id: bytes, entry: dict) -> None:
        """One inbox entry: {b"c": command, b"r": reply address (else the entry id)}."""
        reply_to = entry.get(b"r", entry_id).decode()
        replies: dict = {}
        for event in self._events_for(entry.get(b"c"), replies):
            self._add(event, replies)
        if self.breaker_tripped:  # after the command that moved the price: it trades in full
            self.breaker_tripped = False
            self._add(Halted(self.now_ms + self.rules.halt_ms, HaltReason.CIRCUIT_BREAKER), replies)
        # The reply is the order as this command left it, before later commands touch it.
        reply = orjson.dumps(replies)
        if reply_to == self.own_reply_to:
            self.own_reply = reply  # its submitter is the caller: no need to go through Redis
        else:
            self.writer.reply(reply_to, reply)

    def resume_if_due(self) -> None:
        """Reopen the symbol if its timed halt is over (first in a batch, before any command)."""
        if self.cache.status.due_to_resume(self.now_ms):
            self._add(Resumed(ResumeReason.HALT_ENDED), {})

    def _add(self, event, replies: dict) -> None:
        self.seq += 1
        self._record(event, replies)

    def _events_for(self, raw: bytes | None, replies: dict) -> list:
        try:
            command, data = decode(raw or b"")
            problem = command_problem(command, data)
        except (KeyError, TypeError, ValueError):
            command, data, problem = None, {}, RejectReason.INVALID_COMMAND
        if problem is not None or command is None:
            # Refuse it on the journal rather than let one bad entry block the symbol.
            problem = problem or RejectReason.INVALID_COMMAND
            return [CommandRejected(str(data.get("order_id")), str(data.get("user_id")), problem)]
        if isinstance(command, VoidOrder):
            return self._void(command, replies)
        if isinstance(command, NewOrder):
            return self._new_order(command, data, replies)
        if isinstance(command, HaltSymbol):
            return [Halted(command.until_ms, HaltReason.OPERATOR)]
        if isinstance(command, ResumeSymbol):
            return [Resumed(ResumeReason.OPERATOR)] if self.cache.status.halted else []
        return self.cache.book.apply(command)  # a cancel or an amend

    def _new_order(self, order: NewOrder, data: dict, replies: dict) -> list:
        state = new_state(data, priority=self.seq + 1)  # the sequence of its 'accepted' event
        if order.order_id in self.cache.voided:
            # Its hold was voided while the order was on its way: it must never trade.
            state.update({"status": Status.REJECTED.value, "reason": RejectReason.ORDER_VOIDED.value,
                          "updated_ms": self.now_ms})
            self.states[order.order_id] = state
            return [CommandRejected(order.order_id, order.user_id, RejectReason.ORDER_VOIDED)]
        if self.now_ms - (order_time_ms(order.order_id) or self.now_ms) > ORDER_MAX_AGE_MS:
            return [CommandRejected(order.order_id, order.user_id, RejectReason.ORDER_EXPIRED)]
        self.states[order.order_id] = state
        replies.update(order=state, fills=[])
        book = self.cache.book
        if self.cache.status.halted_at(self.now_ms):
            return book.reject(order, DoneReason.SYMBOL_HALTED, priority=state["priority"])
        if self._over_open_orders(order):
            return book.reject(order, DoneReason.TOO_MANY_OPEN_ORDERS, priority=state["priority"])
        banded = self._admit(order) if not order.type.is_stop else order  # a stop's band applies as it triggers
        if isinstance(banded, DoneReason):
            return book.reject(order, banded, priority=state["priority"])
        return book.place(banded, priority=state["priority"], admit=self._admit)

    def _admit(self, order: NewOrder) -> NewOrder | DoneReason:
        """The order as the price band lets it enter the book, or PRICE_OUT_OF_BAND."""
        banded = self._within_band(order)
        if banded is None:
            return DoneReason.PRICE_OUT_OF_BAND
        if banded.protection_price is not None and banded.protection_price != order.protection_price:
            self.book_collars[order.order_id] = banded.protection_price  # journaled: a replay trades as the book did
        return banded

    def _over_open_orders(self, order: NewOrder) -> bool:
        """Whether a stop or a GTC limit order (one that may stay open) finds its owner at the open-order cap."""
        cap = self.rules.max_open_orders
        may_stay = order.type.is_stop or (order.type is OrderType.LIMIT and order.time_in_force is TimeInForce.GTC)
        return cap is not None and may_stay and self.cache.book.open_orders(order.user_id) >= cap

    def _within_band(self, order: NewOrder) -> NewOrder | None:
        """The order as the price band lets it trade: None for a limit order priced outside the
        band; a market order with its collar pulled in to the band's edge (never let out)."""
        band = self._band()
        if band is None:
            return order
        low, high = band
        if order.type is OrderType.LIMIT:
            return order if order.price is not None and low <= order.price <= high else None
        collar = order.protection_price
        if order.side is Side.BUY:
            collar = high if collar is None else min(collar, high)
        else:
            collar = low if collar is None else max(collar, low)
        # Only the book sees the tighter collar: the stored state keeps the one the hold was
        # computed from, since the hold's releases are computed from it.
        return replace(order, protection_price=collar)

    def _band(self) -> tuple[int, int] | None:
        """The symbol's price band now: around the last trade, else the mid (None: no band)."""
        if self.rules.price_band_bps is None:
            return None
        reference = self.cache.book.last_price
        if reference is None:
            bid, ask = self.cache.book.best_bid, self.cache.book.best_ask
            if bid is None or ask is None:
                return None
            reference = (bid + ask) // 2
        return price_band(reference, self.rules.price_band_bps)

    def _void(self, command: VoidOrder, replies: dict) -> list:
        """Void an order id unless the book already knows it (then its own events settle its hold)."""
        order_id = command.order_id
        known = (order_id in self.states or order_id in self.cache.records
                 or order_id in self.cache.voided
                 or self.cache.client.hexists(keys.orders(self.symbol), order_id))
        replies["voided"] = not known
        if known:
            return []
        self.cache.voided.add(order_id)  # if the commit fails, the reload that follows rebuilds this
        return [Voided(order_id, command.user_id, command.asset)]

    # ---- events -----------------------------------------------------------------------------

    def _state(self, order_id: str) -> OrderRecord:
        state = self.states.get(order_id)
        if state is None:  # resting since an earlier batch
            state = self.states[order_id] = self.cache.records[order_id]
        return state

    def _record(self, event, replies: dict) -> None:
        stamp = {"symbol": self.symbol, "epoch": self.epoch, "sequence": self.seq, "time": self.now_ms}
        self.writer.journal(self._JOURNALING[type(event)](self, event, stamp, replies))

    def _accepted(self, event: Accepted, stamp: dict, replies: dict) -> journal.AcceptedEvent:
        terms = journal.order_terms(self.states[event.order_id])
        if event.order_id in self.book_collars:  # the band pulled its collar in
            terms["book_protection_price"] = self.book_collars.pop(event.order_id)
        return journal.AcceptedEvent(**stamp, order_id=event.order_id, user_id=event.user_id, side=event.side,
                                     quantity=event.quantity, price=event.price, order=terms)

    def _rested(self, event: Rested, stamp: dict, replies: dict) -> journal.RestedEvent:
        state = self._state(event.order_id)
        self.cache.opened(state)
        self.writer.rest(event.side, event.price, state["priority"], event.order_id)
        self.writer.open_order(event.user_id, event.order_id)
        self.levels.add((event.side, event.price))
        return journal.RestedEvent(**stamp, order_id=event.order_id, user_id=event.user_id, side=event.side,
                                   price=event.price, remaining=event.remaining)

    def _parked(self, event: Parked, stamp: dict, replies: dict) -> journal.ParkedEvent:
        state = self._state(event.order_id)
        state["status"] = Status.UNTRIGGERED.value
        self.cache.opened(state)
        self.writer.park(state["priority"], event.order_id)
        self.writer.open_order(event.user_id, event.order_id)
        return journal.ParkedEvent(**stamp, order_id=event.order_id, user_id=event.user_id, side=event.side,
                                   stop_price=event.stop_price)

    def _triggered(self, event: Triggered, stamp: dict, replies: dict) -> journal.TriggeredEvent:
        """The stop leaves the parked set and enters the book, its priority this event's sequence."""
        state = self._state(event.order_id)
        self.writer.unpark(state["priority"], event.order_id)
        self.writer.close_order(event.user_id, event.order_id)  # open again if its entry rests it (_rested)
        self.cache.left(event.order_id)
        state.update({"status": Status.NEW.value, "priority": self.seq, "updated_ms": self.now_ms})
        return journal.TriggeredEvent(**stamp, order_id=event.order_id, user_id=event.user_id, side=event.side,
                                      stop_price=event.stop_price, trade_price=event.trade_price,
                                      book_protection_price=self.book_collars.pop(event.order_id, None))

    def _amended(self, event: Amended, stamp: dict, replies: dict) -> journal.AmendedEvent:
        state = self._state(event.order_id)
        released = hold_for(state, state["remaining_quantity"]) - hold_for(state, event.remaining)
        if state["status"] != Status.UNTRIGGERED:  # a parked stop is on no price level
            self.levels.add((Side(state["side"]), resting_price(state)))
        state.update({"quantity": event.quantity, "remaining_quantity": event.remaining, "updated_ms": self.now_ms})
        replies["order"] = state
        return journal.AmendedEvent(**stamp, order_id=event.order_id, user_id=event.user_id, side=Side(state["side"]),
                                    quantity=event.quantity, remaining=event.remaining, released=released)

    def _done(self, event: Done, stamp: dict, replies: dict) -> journal.DoneEvent:
        state = self._state(event.order_id)
        released = hold_for(state, event.remaining)
        parked = state["status"] == Status.UNTRIGGERED
        state.update({"status": event.status.value, "reason": event.reason.value, "updated_ms": self.now_ms})
        if event.status is not Status.FILLED:
            state["remaining_quantity"] = event.remaining
        side = Side(state["side"])
        if self.cache.left(event.order_id) is not None:  # it was resting or parked: off Redis's book too
            self.writer.close_order(event.user_id, event.order_id)
            if parked:
                self.writer.unpark(state["priority"], event.order_id)
            else:
                self.writer.unrest(side, state["priority"], event.order_id)
                self.levels.add((side, resting_price(state)))
        replies.setdefault("order", state)
        return journal.DoneEvent(**stamp, order_id=event.order_id, user_id=event.user_id, side=side,
                                 status=event.status, reason=event.reason, remaining=event.remaining,
                                 released=released)

    def _rejected(self, event: CommandRejected, stamp: dict, replies: dict) -> journal.CommandRejectedEvent:
        replies["error"] = {"code": event.code.value}
        return journal.CommandRejectedEvent(**stamp, order_id=event.order_id, user_id=event.user_id,
                                            code=event.code)

    def _voided(self, event: Voided, stamp: dict, replies: dict) -> journal.VoidedEvent:
        self.writer.void(event.order_id, self.now_ms, self.now_ms - VOIDED_MEMORY_MS)
        return journal.VoidedEvent(**stamp, order_id=event.order_id, user_id=event.user_id, asset=event.asset)

    def _trading(self, event: Halted | Resumed, stamp: dict, replies: dict) -> journal.HaltedEvent | journal.ResumedEvent:
        self.cache.trading(event, self.seq)
        self.writer.trading_status(self.cache.status.to_json())
        replies["status"] = self.cache.status.as_view(self.now_ms)
        if isinstance(event, Halted):
            return journal.HaltedEvent(**stamp, until_ms=event.until_ms, reason=event.reason)
        return journal.ResumedEvent(**stamp, reason=event.reason)

    def _trade(self, event: Trade, stamp: dict, replies: dict) -> journal.TradeEvent:
        maker, taker = self._state(event.maker_order_id), self._state(event.taker_order_id)
        trade_id = f"{self.symbol}-{self.epoch}-{self.seq}"  # unique across epochs: sequences restart
        price, quantity = event.price, event.quantity
        maker_fee = fee(price, quantity, maker["maker_fee_bps"])
        taker_fee = fee(price, quantity, taker["taker_fee_bps"])
        if event.taker_side is Side.BUY:
            buyer, seller, buyer_left, buyer_fee, seller_fee = taker, maker, event.taker_remaining, taker_fee, maker_fee
        else:
            buyer, seller, buyer_left, buyer_fee, seller_fee = maker, taker, event.maker_remaining, maker_fee, taker_fee
        for state, remaining, liquidity, paid in ((maker, event.maker_remaining, "maker", maker_fee),
                                                  (taker, event.taker_remaining, "taker", taker_fee)):
            state.update({"filled_quantity": state["filled_quantity"] + quantity, "remaining_quantity": remaining,
                          "status": Status.PARTIALLY_FILLED.value, "updated_ms": self.now_ms,
                          "fees": state["fees"] + paid})
            fill = {"trade_id": trade_id, "price": price, "quantity": quantity, "fee": paid,
                    "liquidity": liquidity, "time": self.now_ms, "sequence": self.seq}
            self.writer.append_fill(state["order_id"], orjson.dumps(fill))
            # The command's own order: its taker fills, and as a maker those of a stop it triggered
            # that traded against its resting remainder. Never a triggered stop's own fills.
            if replies.get("order") is state and "fills" in replies:
                replies["fills"].append(fill)
        self.levels.add((event.taker_side.opposite(), price))
        self._watch_price(price)
        self.writer.recent_trade(orjson.dumps({"trade_id": trade_id, "price": price, "quantity": quantity,
                                               "time": self.now_ms, "taker_side": event.taker_side.value,
                                               "sequence": self.seq}))
        return journal.TradeEvent(
            **stamp, trade_id=trade_id, price=price, quantity=quantity, taker_side=event.taker_side,
            maker_order_id=event.maker_order_id, taker_order_id=event.taker_order_id,
            maker_user_id=event.maker_user_id, taker_user_id=event.taker_user_id,
            maker_remaining=event.maker_remaining, taker_remaining=event.taker_remaining,
            buy_order_id=buyer["order_id"], sell_order_id=seller["order_id"],
            buyer_id=buyer["user_id"], seller_id=seller["user_id"], buyer_fee=buyer_fee, seller_fee=seller_fee,
            # the buyer's hold shrinks to what its remaining quantity needs
            buyer_hold_used=hold_for(buyer, buyer_left + quantity) - hold_for(buyer, buyer_left))

    _JOURNALING: dict[type, Callable[..., journal.JournalEvent]] = {
        Accepted: _accepted, Trade: _trade, Rested: _rested, Parked: _parked, Triggered: _triggered,
        Amended: _amended, Done: _done, CommandRejected: _rejected, Voided: _voided, Halted: _trading,
        Resumed: _trading}

    def _watch_price(self, price: int) -> None:
        """If the trade's price moved past HALT_MOVE_BPS within the window, the symbol halts after
        the command that traded it (the book keeps it as the band's reference)."""
        prices = self.cache.prices
        if prices is None:  # no circuit breaker
            return
        if not self.cache.status.halted and self.rules.halt_move_bps is not None:
            self.breaker_tripped |= prices.moved(self.now_ms, price, self.rules.halt_move_bps)
        prices.add(self.now_ms, price)

    # ---- the end ----------------------------------------------------------------------------

    def finish(self) -> None:
        """Add the orders' states and the price levels' totals as the batch leaves them."""
        for order_id, state in self.states.items():
            if state["status"] in DONE_STATUSES:
                self.writer.save_done_order(order_id, orjson.dumps(state), self.seq)
            else:
                self.writer.save_order(order_id, orjson.dumps(state))
        book = self.cache.book
        if self.cache.levels_stale:  # after a reload: rewrite them all, whatever they were
            self.writer.clear_levels()
            bids, asks = book.l2()
            self.levels = {(Side.BUY, price) for price, _ in bids} | {(Side.SELL, price) for price, _ in asks}
        for side, price in sorted(self.levels):
            self.writer.level(side, price, book.level_quantity(side, price))
