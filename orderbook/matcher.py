"""The Redis matching engine: drains a symbol's inbox into its book under a Redlock.

A matcher takes the symbol's Redlock without blocking, takes a fencing token,
reads pending commands in arrival order, matches them in Python with the pure
``OrderBook`` and commits the whole batch with one Lua script that first checks
the token is still the newest. A matcher paused past its lock's expiry can
therefore waste work but never write. The in-memory book is a cache of the
Redis book, reused while the symbol's sequence says nobody else has written.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import redis
from pottery import Redlock
from redis.exceptions import NoScriptError
from pottery.exceptions import ReleaseUnlockedLock

from exchange import keys
from exchange.lease import Lease
from exchange.scripts import Scripts
from orderbook.book import OrderBook
from exchange.money import fee
from orderbook.commands import command_problem, decode, hold_for, new_state, order_time_ms, resting_from_state
from orderbook.model import (
    Accepted, Amended, CommandRejected, Done, NewOrder, Rested, Side, Status, Trade, VoidOrder, Voided,
    event_to_dict,
)

CATCH_UP_MAX_EVENTS = 20_000  # beyond this gap a full reload is cheaper
FIXED_KEYS = 10  # KEYS[1..10] of commit_batch.lua; per-batch keys follow
BIDS_KEY_INDEX, ASKS_KEY_INDEX = 6, 7
# A new order older than this (by the id's entry time) is refused: its hold may have been
# voided so long ago that the voided id is forgotten (kept for VOIDED_MEMORY_MS).
ORDER_MAX_AGE_MS = 24 * 3600 * 1000
VOIDED_MEMORY_MS = 7 * ORDER_MAX_AGE_MS


def stream_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, part = text.partition("-")
    return int(ms), int(part or 0)


def book_member(state: dict) -> str:
    """Sorted-set member: zero-padded priority first, so equal prices keep arrival order."""
    return f"{state['priority']:015d}:{state['order_id']}"


def book_score(state: dict) -> int:
    return -state["price"] if state["side"] == Side.BUY.value else state["price"]


class _Batch:
    """Collects the Redis writes of one matched batch as commit_batch ops."""

    def __init__(self, symbol: str):
        self.symbol = symbol
        self.ops: list = []
        self.keys: list[str] = []
        self._key_index: dict[str, int] = {}
        self.states: dict[str, dict] = {}

    def key(self, name: str) -> int:
        index = self._key_index.get(name)
        if index is None:
            self.keys.append(name)
            index = self._key_index[name] = FIXED_KEYS + len(self.keys)
        return index

    def add(self, *op) -> None:
        self.ops.extend(op)


@dataclass
class DrainResult:
    held: bool = False  # this call held the lock at least once
    own_reply: dict | None = None  # the reply to the caller's own command, if it was matched here


class SymbolMatcher:
    def __init__(self, client: redis.Redis, symbol: str, *, lock_ttl_ms: int = 2000,
                 batch_max_commands: int = 256, scripts: Scripts | None = None,
                 before_commit: Callable[[], None] | None = None):
        self.client = client
        self.symbol = symbol
        self.scripts = scripts or Scripts(client)
        self.lock_ttl_s = lock_ttl_ms / 1000
        self.batch_max_commands = batch_max_commands
        self.lock = Redlock(key=keys.lock(symbol), masters={client}, auto_release_time=self.lock_ttl_s)
        self.cursor: bytes | None = None  # last inbox entry known applied
        self.fence: int | None = None  # the fencing token of this holder's current tenure
        self.before_commit = before_commit  # test hook: runs between matching and commit
        self._local = threading.Lock()
        self.book = OrderBook()
        self.book_seq: int | None = None  # the sequence the cached book reflects
        self.journal_id: bytes | None = None  # the journal entry id of that sequence
        self.resting_states: dict[str, dict] = {}
        self.voided: set[str] = set()  # order ids the book refuses for good (keys.voided)
        self._own_reply_to: str | None = None
        self._own_reply: dict | None = None
        self.stale_commits = 0
        self.batches = 0
        self.catch_ups = 0
        self._fixed_keys = [keys.fence(symbol), keys.seq(symbol), keys.cursor(symbol), keys.inbox(symbol),
                            keys.events(symbol), keys.bids(symbol), keys.asks(symbol), keys.orders(symbol),
                            keys.trades(symbol), keys.voided(symbol)]

    # ---- the loop ----------------------------------------------------------------

    def drain(self, own_reply_to: str | None = None) -> DrainResult:
        """Match every pending command if this process can take the lock.

        ``own_reply_to`` is the reply address of the caller's own command: its reply is
        handed back in memory instead of through Redis. Returns held=False if
        another thread or process holds the lock (it will do the work). After
        releasing, it looks again, so a command that arrived while the lock was
        held is never left waiting for the next arrival.
        """
        result = DrainResult()
        if not self._local.acquire(blocking=False):
            return result
        self._own_reply_to, self._own_reply = own_reply_to, None
        try:
            while True:
                if not self.lock.acquire(blocking=False):
                    return result
                result.held = True
                try:
                    self._drain_locked()
                finally:
                    try:
                        self.lock.release()
                    except ReleaseUnlockedLock:
                        pass  # expired while we worked; the fence already protected the book
                if not self.has_pending():
                    return result
        finally:
            result.own_reply = self._own_reply
            self._own_reply_to = self._own_reply = None
            self._local.release()

    def has_pending(self) -> bool:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.cursor(self.symbol))
        pipe.xrevrange(keys.inbox(self.symbol), count=1)
        cursor, last = pipe.execute()
        if not last:
            return False
        return stream_id(last[0][0]) > stream_id(cursor or b"0-0")

    def serve(self, running: Callable[[], bool], standby_poll_s: float = 0.2) -> None:
        """Standing matcher: hold the symbol's lock and match commands as they arrive.

        Submitters that see the lock held wait for their reply instead of
        contending for it, so one lock holder serves every order. If this
        process stops or pauses, its lock expires and submitters or a standby
        matcher take over; the fence makes the hand-over safe.
        """
        lease = Lease(self.client, keys.lock(self.symbol), self.lock_ttl_s)
        wait_ms = max(1, int(self.lock_ttl_s * 1000 / 4))
        tenure = 0  # the lease acquisition self.fence was taken in (0: none yet)
        try:
            while running():
                if not lease.ensure():
                    time.sleep(standby_poll_s)
                    continue
                # Match only within the first half of the lock's lifetime since it was last
                # renewed (ensure() renews after a third), so the lock never expires under a
                # commit, however long the wait for commands was.
                stop_at = lease.renewed_at + self.lock_ttl_s / 2
                with self._local:
                    if tenure == lease.acquisitions and self.book_seq is not None:
                        committed = self._wait_and_match(wait_ms, stop_at)
                    else:  # a new tenure, or a batch failed: take a fresh fence and re-read the book
                        committed = self._drain_locked(stop_at)
                        tenure = lease.acquisitions
                    if not committed:
                        tenure = 0
                        lease.release()  # another matcher took over the book
        finally:
            lease.release()

    def _wait_and_match(self, wait_ms: int, stop_at: float) -> bool:
        """Block until commands arrive after the cursor (or it is time to renew the lease),
        then match them under the fence this tenure already holds: a busy standing
        matcher needs no round trip beyond this read and one commit per batch."""
        block_ms = min(wait_ms, int((stop_at - time.monotonic()) * 1000))
        if block_ms < 1:
            return True  # time to renew first
        streams = self.client.xread({keys.inbox(self.symbol): self.cursor or b"0-0"},
                                    count=self.batch_max_commands, block=block_ms)
        if not streams:
            return True
        return self._match_run(streams[0][1], wait_ms, stop_at)

    def _drain_locked(self, stop_at: float | None = None) -> bool:
        """Take a fencing token and match every pending command; False if a commit was refused."""
        fence, seq, cursor, entries = self.scripts.begin_batch(
            keys=self._fixed_keys[:4], args=[self.batch_max_commands])
        self.fence, self.cursor = fence, cursor
        if int(seq) != self.book_seq:
            self._catch_up(int(seq))
        return self._match_run(entries, stop_at=stop_at)  # none left: drain() looks again after releasing

    def _match_run(self, entries: list, wait_ms: int = 0, stop_at: float | None = None) -> bool:
        """Match and commit batches while the commits hand back more; False if one was refused.

        With ``wait_ms`` (the standing matcher), each commit also waits, in the same
        round trip, up to that long for the next commands. Stops at ``stop_at``
        (default: half the lock's lifetime from now), well inside the lock's
        lifetime, so the caller can renew it or let it go.
        """
        if stop_at is None:
            stop_at = time.monotonic() + self.lock_ttl_s / 2
        while entries:
            left_ms = int((stop_at - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            committed, entries = self._match_and_commit(self.fence, self.book_seq, entries,
                                                        min(wait_ms, left_ms))
            if not committed:
                return False
        return True

    # ---- loading ---------------------------------------------------------------------

    def _reload(self) -> None:
        """Rebuild the cached book from Redis: every resting order's state."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.seq(self.symbol))
        pipe.xrevrange(keys.events(self.symbol), count=1)
        pipe.zrange(keys.bids(self.symbol), 0, -1)
        pipe.zrange(keys.asks(self.symbol), 0, -1)
        pipe.zrange(keys.voided(self.symbol), 0, -1)
        seq, last_event, bid_members, ask_members, voided = pipe.execute()
        self.voided = {order_id.decode() for order_id in voided}
        order_ids = [m.decode().split(":", 1)[1] for m in bid_members + ask_members]
        raw_states = self.client.hmget(keys.orders(self.symbol), order_ids) if order_ids else []
        self.book = OrderBook()
        self.resting_states = {}
        for raw in raw_states:
            state = orjson.loads(raw)
            self.resting_states[state["order_id"]] = state
            self.book.load(resting_from_state(state))
        self.book_seq = int(seq or 0)
        self.journal_id = last_event[0][0] if last_event else b"0-0"

    def _catch_up(self, seq: int) -> None:
        """Bring the cached book from ``book_seq`` to ``seq`` by replaying the journal.

        Other matchers' batches are usually small, so reading the orders they
        touched is far cheaper than reloading the whole book. Anything unusual
        (no cache, a long gap, a journal that does not line up) reloads instead.
        """
        gap = seq - (self.book_seq or 0)
        if self.book_seq is None or self.journal_id is None or not 0 < gap <= CATCH_UP_MAX_EVENTS:
            return self._reload()
        entries = self.client.xrange(keys.events(self.symbol), min=b"(" + self.journal_id, count=gap)
        if (len(entries) != gap or int(entries[0][1][b"sequence"]) != self.book_seq + 1
                or int(entries[-1][1][b"sequence"]) != seq):
            return self._reload()
        touched: dict[str, None] = {}
        for _id, fields in entries:
            event = orjson.loads(fields[b"event"])
            if event["type"] == "voided":
                self.voided.add(event["order_id"])
                continue
            for field in ("order_id", "maker_order_id", "taker_order_id"):
                if field in event:
                    touched[event[field]] = None
        ids = list(touched)
        raw_states = self.client.hmget(keys.orders(self.symbol), ids) if ids else []
        states = [orjson.loads(raw) for raw in raw_states if raw]
        for state in sorted(states, key=lambda st: st["priority"] or 0):
            order_id = state["order_id"]
            if Status(state["status"]).is_done:
                self.book.discard(order_id)
                self.resting_states.pop(order_id, None)
                continue
            # After a command is applied, every order that is not done is resting.
            resting = self.book.get(order_id)
            if resting is None:
                self.book.load(resting_from_state(state))
            else:
                resting.quantity, resting.remaining = state["quantity"], state["remaining_quantity"]
            self.resting_states[order_id] = state
        self.book_seq = seq
        self.journal_id = entries[-1][0]
        self.catch_ups += 1

    # ---- matching --------------------------------------------------------------------

    def _match_and_commit(self, fence: int, seq: int, entries: list, wait_ms: int = 0) -> tuple[bool, list]:
        """Match a batch and commit it; returns (committed, the inbox entries waiting after it,
        waited for up to ``wait_ms`` if none were there yet)."""
        # From here until the commit succeeds the cached book runs ahead of Redis; if
        # anything raises on the way, the next batch must rebuild it, not trust it.
        self.book_seq = None
        batch = _Batch(self.symbol)
        now_ms = int(time.time() * 1000)
        next_seq = seq
        own_reply = None
        for entry_id, fields in entries:
            replies: dict = {}
            # {b"c": command, b"r": reply address}: a dict from XREAD, a flat list from a script's XRANGE
            entry = fields if isinstance(fields, dict) else dict(zip(fields[::2], fields[1::2]))
            reply_to = entry.get(b"r", entry_id).decode()
            events = self._events_for(batch, entry.get(b"c"), next_seq, now_ms, replies)
            for event in events:
                next_seq += 1
                self._record(batch, event, next_seq, now_ms, replies)
            # The reply is the order as this command left it, before later commands touch it.
            reply = orjson.dumps(replies)
            if reply_to == self._own_reply_to:
                own_reply = reply  # the caller is this thread: no need to go through Redis
            else:
                batch.add("R", batch.key(keys.reply(self.symbol, reply_to)), reply)

        for order_id, state in batch.states.items():
            batch.add("H", order_id, orjson.dumps(state))

        if self.before_commit is not None:
            self.before_commit()
        last_entry_id = entries[-1][0]
        result, next_entries = self._commit(self._fixed_keys + batch.keys,
                                            [fence, seq, next_seq, last_entry_id], batch.ops, wait_ms)
        if not isinstance(result, list):  # b"stale_fence" or b"stale_seq"
            self.stale_commits += 1
            self.book_seq = None  # our cache ran ahead of a book we could not write
            return False, []
        self.journal_id = result[1]
        self.batches += 1
        self.book_seq = next_seq
        self.cursor = last_entry_id
        if own_reply is not None:
            self._own_reply = orjson.loads(own_reply)
        return True, next_entries

    def _events_for(self, batch: _Batch, raw: bytes | None, seq: int, now_ms: int, replies: dict) -> list:
        """What one inbox command does to the book (``seq``: the sequence before it)."""
        try:
            command, data = decode(raw)
            problem = command_problem(command, data)
        except (KeyError, TypeError, ValueError):
            command, data, problem = None, {}, "invalid_command"
        if problem is not None:
            # Refuse it on the journal rather than let one bad entry block the symbol.
            return [CommandRejected(str(data.get("order_id")), str(data.get("user_id")), problem)]
        if isinstance(command, VoidOrder):
            return self._void(batch, command, replies)
        if not isinstance(command, NewOrder):
            return self.book.apply(command)
        state = new_state(data)
        state["priority"] = seq + 1  # the sequence of its 'accepted' event
        if command.order_id in self.voided:
            # Its hold was voided while the order was on its way: it must never trade.
            state.update(status=Status.REJECTED.value, reason="order_voided", updated_ms=now_ms)
            batch.states[command.order_id] = state
            return [CommandRejected(command.order_id, command.user_id, "order_voided")]
        if now_ms - (order_time_ms(command.order_id) or now_ms) > ORDER_MAX_AGE_MS:
            return [CommandRejected(command.order_id, command.user_id, "order_expired")]
        batch.states[command.order_id] = state
        replies.update(order=state, fills=[])
        return self.book.place(command, priority=state["priority"])

    def _void(self, batch: _Batch, command: VoidOrder, replies: dict) -> list:
        """Void an order id unless the book already knows it (then its own events settle its hold)."""
        order_id = command.order_id
        known = (order_id in batch.states or order_id in self.resting_states or order_id in self.voided
                 or self.client.hexists(keys.orders(self.symbol), order_id))
        replies["voided"] = not known
        if known:
            return []
        self.voided.add(order_id)  # if the commit fails, the reload that follows rebuilds this
        return [Voided(order_id, command.user_id, command.asset)]

    def _commit(self, script_keys: list, head: list, ops: list, wait_ms: int) -> tuple[object, list]:
        """Run commit_batch: (its result, the inbox entries after the batch). The script hands
        those back itself, or, with ``wait_ms``, a blocking XREAD sent in the same round trip
        reads them (Redis runs it once the commit is done)."""
        if not wait_ms:
            result = self.scripts.commit_batch(keys=script_keys, args=[*head, self.batch_max_commands, *ops])
            return result, (result[2] if isinstance(result, list) else [])
        pipe = self.client.pipeline(transaction=False)
        # EVALSHA by hand: a pipeline given the Script object checks SCRIPT EXISTS on every call.
        pipe.evalsha(self.scripts.commit_batch.sha, len(script_keys), *script_keys, *head, 0, *ops)
        pipe.xread({keys.inbox(self.symbol): head[-1]}, count=self.batch_max_commands, block=wait_ms)
        try:
            result, streams = pipe.execute()
        except NoScriptError:  # Redis restarted or flushed its scripts: load it, commit without waiting
            return self._commit(script_keys, head, ops, 0)
        return result, (streams[0][1] if streams else [])

    def _state(self, batch: _Batch, order_id: str) -> dict:
        state = batch.states.get(order_id)
        if state is None:
            state = batch.states[order_id] = self.resting_states[order_id]
        return state

    def _record(self, batch: _Batch, event, sequence: int, now_ms: int, replies: dict) -> None:
        symbol = self.symbol
        journal = event_to_dict(event)
        journal.update(sequence=sequence, symbol=symbol, time=now_ms)
        if isinstance(event, Accepted):
            state = batch.states[event.order_id]
            journal.update(order={
                k: state[k] for k in ("side", "type", "price", "protection_price", "quantity",
                                      "time_in_force", "post_only", "self_trade", "client_order_id",
                                      "maker_fee_bps", "taker_fee_bps", "hold")})
        elif isinstance(event, Trade):
            maker, taker = self._state(batch, event.maker_order_id), self._state(batch, event.taker_order_id)
            trade_id = f"{symbol}-{sequence}"
            price, quantity = event.price, event.quantity
            maker_fee = fee(price, quantity, maker["maker_fee_bps"])
            taker_fee = fee(price, quantity, taker["taker_fee_bps"])
            if event.taker_side is Side.BUY:
                buyer, seller, buyer_left, buyer_fee, seller_fee = (
                    taker, maker, event.taker_remaining, taker_fee, maker_fee)
            else:
                buyer, seller, buyer_left, buyer_fee, seller_fee = (
                    maker, taker, event.maker_remaining, maker_fee, taker_fee)
            journal.update(trade_id=trade_id, buy_order_id=buyer["order_id"], sell_order_id=seller["order_id"],
                           buyer_id=buyer["user_id"], seller_id=seller["user_id"],
                           buyer_fee=buyer_fee, seller_fee=seller_fee,
                           # the buyer's hold shrinks to what its remaining quantity needs
                           buyer_hold_used=hold_for(buyer, buyer_left + quantity) - hold_for(buyer, buyer_left))
            for state, remaining, liquidity, paid in ((maker, event.maker_remaining, "maker", maker_fee),
                                                      (taker, event.taker_remaining, "taker", taker_fee)):
                state["filled_quantity"] += quantity
                state["remaining_quantity"] = remaining
                state["status"] = Status.PARTIALLY_FILLED.value
                state["updated_ms"] = now_ms
                state["fees"] += paid
                fill = {"trade_id": trade_id, "price": price, "quantity": quantity, "fee": paid,
                        "liquidity": liquidity, "time": now_ms, "sequence": sequence}
                batch.add("L", batch.key(keys.fills(symbol, state["order_id"])), orjson.dumps(fill))
                if liquidity == "taker" and "fills" in replies:
                    replies["fills"].append(fill)
            batch.add("T", orjson.dumps({"trade_id": trade_id, "price": price, "quantity": quantity,
                                         "time": now_ms, "taker_side": event.taker_side.value,
                                         "sequence": sequence}))
        elif isinstance(event, Rested):
            state = self._state(batch, event.order_id)
            self.resting_states[event.order_id] = state
            batch.add("Z+", BIDS_KEY_INDEX if event.side is Side.BUY else ASKS_KEY_INDEX,
                      book_score(state), book_member(state))
            batch.add("S+", batch.key(keys.open_orders(symbol, event.user_id)), event.order_id)
        elif isinstance(event, Amended):
            state = self._state(batch, event.order_id)
            journal.update(side=state["side"],
                           released=hold_for(state, state["remaining_quantity"]) - hold_for(state, event.remaining))
            state.update(quantity=event.quantity, remaining_quantity=event.remaining, updated_ms=now_ms)
            replies["order"] = state
        elif isinstance(event, Done):
            state = self._state(batch, event.order_id)
            journal.update(side=state["side"], released=hold_for(state, event.remaining))
            state.update(status=event.status.value, reason=event.reason, updated_ms=now_ms)
            if event.status is not Status.FILLED:
                state["remaining_quantity"] = event.remaining
            if self.resting_states.pop(event.order_id, None) is not None:
                batch.add("Z-", BIDS_KEY_INDEX if state["side"] == Side.BUY.value else ASKS_KEY_INDEX,
                          book_member(state))
                batch.add("S-", batch.key(keys.open_orders(symbol, event.user_id)), event.order_id)
            replies.setdefault("order", state)
        elif isinstance(event, CommandRejected):
            replies["error"] = {"code": event.code}
        elif isinstance(event, Voided):
            batch.add("V", event.order_id, now_ms, now_ms - VOIDED_MEMORY_MS)
        batch.add("E", sequence, orjson.dumps(journal))
