"""Putting a command on a symbol's inbox and getting the matcher's reply to it.

The append fixes the command's time priority; some matcher then applies it:
the standing matcher (``python -m orderbook.worker``) while one holds the
symbol's lock, else the submitting thread itself, which takes the lock. A
``Submitter`` remembers, per symbol, whether a matcher held the lock at its last
look. While one did, the wait for the reply rides in the append's own round
trip (Redis runs the blocking pop once the append is in), and so does the read
of the order's fills. Otherwise the same round trip asks whether anyone holds
the lock, and the thread matches the command itself if nobody does.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import orjson
import redis

from exchange import keys
from orderbook.matcher import SymbolMatcher

LOCK_RETRY_S = 0.01  # how long to wait on a lock holder before trying the lock again
# While the lock stays held, each wait doubles up to this: a busy standing matcher
# answers late under load, and a 10 ms poll then costs two round trips per 10 ms per waiting
# order. A holder that dies frees its lock only when it expires (LOCK_TTL_MS, 2 s) anyway.
MAX_HELD_WAIT_S = 0.1
PIPELINED_WAIT_S = 0.05  # the reply wait sent with the append, while a matcher holds the lock


@dataclass
class Reply:
    result: dict | None  # the matcher's reply; None if none came within ORDER_WAIT_MS
    fills: list[dict] | None = None  # the fills read in the same round trip, if asked for and read


class Submitter:
    def __init__(self, client: redis.Redis, matchers: dict[str, SymbolMatcher], order_wait_ms: int):
        self.client = client
        self.matchers = matchers
        self.order_wait_s = order_wait_ms / 1000
        self.holder_seen: dict[str, bool] = {}  # symbol -> a matcher held its lock at our last look

    def submit(self, symbol: str, command: bytes, fills_of: str | None = None) -> Reply:
        """Append ``command`` and wait for its reply."""
        reply_to = uuid.uuid4().hex
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(keys.inbox(symbol), {"c": command, "r": reply_to})
        if not self.holder_seen.get(symbol, False):
            pipe.exists(self.matchers[symbol].lock.key)
            lock_held = self._record_holder(symbol, pipe.execute()[-1])
            return Reply(self.await_reply(symbol, reply_to, lock_held))
        at_reply = len(pipe)
        pipe.blpop([keys.reply(symbol, reply_to)], timeout=PIPELINED_WAIT_S)
        if fills_of is not None:
            pipe.lrange(keys.fills(symbol, fills_of), 0, -1)  # runs once the reply is there
        results = pipe.execute()
        popped = results[at_reply]
        if popped is not None:
            fills = None if fills_of is None else [orjson.loads(f) for f in results[at_reply + 1]]
            return Reply(orjson.loads(popped[1]), fills)
        # No reply within the pipelined wait: is anyone matching at all?
        lock_held = self._record_holder(symbol, self.client.exists(self.matchers[symbol].lock.key))
        return Reply(self.await_reply(symbol, reply_to, lock_held))

    def append_all(self, commands: list[tuple[str, bytes]]) -> list[str]:
        """Append several (symbol, command)s, each symbol's in the order given, in one round trip
        that also looks at each symbol's lock; returns the commands' reply addresses, in order
        (for ``await_reply``)."""
        reply_tos = [uuid.uuid4().hex for _ in commands]
        pipe = self.client.pipeline(transaction=False)
        for (symbol, command), reply_to in zip(commands, reply_tos):
            pipe.xadd(keys.inbox(symbol), {"c": command, "r": reply_to})
        symbols = list(dict.fromkeys(symbol for symbol, _ in commands))
        for symbol in symbols:
            pipe.exists(self.matchers[symbol].lock.key)
        for symbol, exists in zip(symbols, pipe.execute()[-len(symbols):] if symbols else []):
            self._record_holder(symbol, exists)
        return reply_tos

    def await_reply(self, symbol: str, reply_to: str, lock_held: bool, deadline: float | None = None) -> dict | None:
        """The matcher's reply to one inbox command, or None after ORDER_WAIT_MS (or at
        ``deadline``, a time.monotonic() value, when several replies share one wait).

        If another worker holds the lock, it will most likely match this command
        in its current run, so wait for the reply first and try the lock only if
        none arrives within a few milliseconds.
        """
        matcher = self.matchers[symbol]
        reply_key = keys.reply(symbol, reply_to)
        deadline = deadline or time.monotonic() + self.order_wait_s
        held_wait_s = LOCK_RETRY_S
        while True:  # at least one look, even past a shared deadline: the reply may be there
            wait_s = LOCK_RETRY_S
            if lock_held:  # not past the deadline, though: the caller answers then
                wait_s = max(0.001, min(held_wait_s, deadline - time.monotonic()))
                held_wait_s = min(2 * held_wait_s, MAX_HELD_WAIT_S)
            else:
                held_wait_s = LOCK_RETRY_S
                drained = matcher.drain(own_reply_to=reply_to)
                if drained.own_reply is not None:
                    return drained.own_reply
                if drained.held:
                    wait_s = 0.001  # matched by another thread of ours or an earlier holder: the reply is there
            popped = self.client.blpop([reply_key], timeout=wait_s)
            if popped is not None:
                return orjson.loads(popped[1])
            if time.monotonic() >= deadline:
                return None
            # Nothing yet: contend for the lock only if nobody holds it (EXISTS is far
            # cheaper than a Redlock attempt).
            lock_held = bool(self.client.exists(matcher.lock.key))

    def _record_holder(self, symbol: str, exists: int) -> bool:
        self.holder_seen[symbol] = bool(exists)
        return self.holder_seen[symbol]
