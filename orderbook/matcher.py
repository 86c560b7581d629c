"""The Redis matching engine: drains a symbol's inbox into its book under a Redlock.

A matcher takes the symbol's Redlock without blocking, takes a fencing token,
reads pending commands in arrival order, matches them in Python with the pure
``OrderBook`` (``orderbook.batch``) and commits the whole batch with one Lua
script that first checks the token is still the newest (``orderbook.commit_batch``).
A matcher paused past its lock's expiry can therefore waste work but never
write. The in-memory book (``orderbook.book_cache``) is reused while the
symbol's sequence says nobody else has written.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import redis
from pottery import Redlock
from pottery.exceptions import ReleaseUnlockedLock
from redis.exceptions import NoScriptError

from exchange import keys, redis_client
from exchange.config import Settings
from exchange.lease import Lease
from exchange.metrics import BATCHES, COMMIT_SECONDS, FENCE_REFUSALS, JOURNAL_SEQUENCE
from exchange.scripts import Scripts
from exchange.streams import entry_order
from orderbook.batch import BookRules, MatchedBatch
from orderbook.book_cache import BookCache


@dataclass
class DrainResult:
    held: bool = False  # this call held the lock at least once
    own_reply: dict | None = None  # the reply to the caller's own command, if it was matched here


@dataclass
class RunResult:
    committed: bool  # False: a commit was refused (another holder took the book)
    own_reply: bytes | None = None


class SymbolMatcher:
    def __init__(self, client: redis.Redis, symbol: str, *, lock_ttl_ms: int = 2000,
                 batch_max_commands: int = 256, rules: BookRules = BookRules(),
                 scripts: Scripts | None = None, before_commit: Callable[[], None] | None = None):
        self.client = client
        self.symbol = symbol
        self.scripts = scripts or Scripts(client)
        self.lock_ttl_s = lock_ttl_ms / 1000
        self.batch_max_commands = batch_max_commands
        self.rules = rules  # what the book refuses or bounds as an order arrives
        self.lock = Redlock(key=keys.lock(symbol), masters={client}, auto_release_time=self.lock_ttl_s)
        self.cache = BookCache(client, symbol, price_window_ms=rules.halt_window_ms if rules.halt_move_bps else None)
        self.cursor: bytes | None = None  # last inbox entry known applied
        self.fence: int | None = None  # the fencing token of this holder's current tenure
        self.epoch: int | None = None  # the journal's epoch, read with the fence
        self.before_commit = before_commit  # test hook: runs between matching and commit
        self.turn = threading.Lock()  # one thread of this process matches the symbol at a time
        self.stale_commits = 0
        self.batches = 0

    @classmethod
    def for_settings(cls, client: redis.Redis, symbol: str, settings: Settings,
                     scripts: Scripts | None = None) -> "SymbolMatcher":
        return cls(client, symbol, lock_ttl_ms=settings.lock_ttl_ms, batch_max_commands=settings.batch_max_commands,
                   rules=BookRules(settings.max_open_orders, settings.price_band_bps, settings.halt_move_bps,
                                   settings.halt_window_s * 1000, settings.halt_s * 1000), scripts=scripts)

    # ---- taking turns ---------------------------------------------------------------

    def drain(self, own_reply_to: str | None = None) -> DrainResult:
        """Match every pending command if this process can take the lock.

        ``own_reply_to`` is the reply address of the caller's own command: its reply is
        handed back in memory instead of through Redis. Returns held=False if
        another thread or process holds the lock (it will do the work). After
        releasing, it looks again, so a command that arrived while the lock was
        held is never left waiting for the next arrival.
        """
        result = DrainResult()
        if not self.turn.acquire(blocking=False):
            return result
        try:
            while self.lock.acquire(blocking=False):
                result.held = True
                try:
                    run = self.drain_locked(own_reply_to=own_reply_to)
                finally:
                    try:
                        self.lock.release()
                    except ReleaseUnlockedLock:
                        pass  # expired while we worked; the fence already protected the book
                if run.own_reply is not None:
                    result.own_reply = orjson.loads(run.own_reply)
                if not self.has_pending():
                    break
        finally:
            self.turn.release()
        return result

    def has_pending(self) -> bool:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.cursor(self.symbol))
        pipe.xrevrange(keys.inbox(self.symbol), count=1)
        cursor, last = pipe.execute()
        if not last:
            return False
        return entry_order(last[0][0]) > entry_order(cursor or b"0-0")

    def wait_and_match(self, wait_ms: int, stop_at: float) -> bool:
        """Block until commands arrive after the cursor (or it is time to renew the lease),
        then match them under the fence this tenure already holds: a busy standing
        matcher needs no round trip beyond this read and one commit per batch."""
        block_ms = min(wait_ms, int((stop_at - time.monotonic()) * 1000))
        if block_ms < 1:
            return True  # time to renew first
        status = self.cache.status
        if status.halted and status.until_ms is not None:  # wake to reopen on time
            block_ms = max(1, min(block_ms, status.until_ms - int(time.time() * 1000) + 1))
        streams = self.client.xread({keys.inbox(self.symbol): self.cursor or b"0-0"},
                                    count=self.batch_max_commands, block=block_ms)
        if streams:
            return self._match_run(streams[0][1], wait_ms, stop_at).committed
        if self.cache.status.due_to_resume(int(time.time() * 1000)):  # a batch of no commands reopens it
            batch = self._match([], None)
            return self._commit(batch, self.cursor or b"0-0", 0) is not None
        return True

    def drain_locked(self, stop_at: float | None = None, own_reply_to: str | None = None) -> RunResult:
        """Take a fencing token and match every pending command."""
        fence, seq, cursor, entries, epoch = self.scripts.begin_batch(
            keys=[keys.fence(self.symbol), keys.seq(self.symbol), keys.cursor(self.symbol),
                  keys.inbox(self.symbol), keys.epoch(self.symbol)], args=[self.batch_max_commands])
        self.fence, self.cursor, self.epoch = fence, cursor, int(epoch)
        self.cache.sync(int(seq))
        return self._match_run(entries, stop_at=stop_at, own_reply_to=own_reply_to)

    def _match_run(self, entries: list, wait_ms: int = 0, stop_at: float | None = None,
                   own_reply_to: str | None = None) -> RunResult:
        """Match and commit batches while the commits hand back more.

        With ``wait_ms`` (the standing matcher), each commit also waits, in the same
        round trip, up to that long for the next commands. Stops at ``stop_at``
        (default: half the lock's lifetime from now), well inside the lock's
        lifetime, so the caller can renew it or let it go.
        """
        if stop_at is None:
            stop_at = time.monotonic() + self.lock_ttl_s / 2
        run = RunResult(committed=True)
        while entries:
            left_ms = int((stop_at - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            batch = self._match(entries, own_reply_to)
            run.own_reply = run.own_reply or batch.own_reply
            following = self._commit(batch, entries[-1][0], min(wait_ms, left_ms))
            if following is None:
                run.committed = False
                break
            entries = following
        return run

    # ---- one batch ---------------------------------------------------------------------

    def _match(self, entries: list, own_reply_to: str | None) -> MatchedBatch:
        # From here until the commit succeeds the cached book runs ahead of Redis; if
        # anything raises on the way, the next batch must rebuild it, not trust it.
        seq = self.cache.seq
        if seq is None or self.epoch is None:
            raise RuntimeError("matching needs a book synced under a fence (drain_locked first)")
        self.cache.invalidate()
        batch = MatchedBatch(self.cache, self.symbol, self.epoch, seq, int(time.time() * 1000),
                             rules=self.rules, own_reply_to=own_reply_to)
        batch.resume_if_due()
        for entry_id, fields in entries:
            # {b"c": command, b"r": reply address}: a dict from XREAD, a flat list from a script's XRANGE
            batch.apply(entry_id, fields if isinstance(fields, dict) else dict(zip(fields[::2], fields[1::2])))
        batch.finish()
        return batch

    def _commit(self, batch: MatchedBatch, last_entry_id: bytes, wait_ms: int) -> list | None:
        """Commit the batch; returns the inbox entries after it (waited for up to ``wait_ms``
        if none were there yet), or None if the fence or the sequence refused it."""
        if self.before_commit is not None:
            self.before_commit()
        if self.fence is None:
            raise RuntimeError("committing needs a fencing token (drain_locked first)")
        if redis_client.is_cluster(self.client):  # its pipelines take no script: no waiting read behind it
            wait_ms = 0
        started = time.perf_counter()
        result, next_entries = self._call_commit(batch.writer.script_keys(), batch.writer.script_args(
            self.fence, batch.start_seq, batch.seq, last_entry_id, 0 if wait_ms else self.batch_max_commands),
            wait_ms)
        if not wait_ms or next_entries:  # else the round trip also waited for commands to arrive
            COMMIT_SECONDS.observe(time.perf_counter() - started)
        if not isinstance(result, list):  # b"stale_fence" or b"stale_seq"
            self.stale_commits += 1
            FENCE_REFUSALS.labels(self.symbol).inc()
            return None  # our cache ran ahead of a book we could not write: it stays invalid
        self.cache.seq, self.cache.journal_id = batch.seq, result[1] or self.cache.journal_id
        self.cache.levels_stale = False
        self.batches += 1
        BATCHES.labels(self.symbol).inc()
        JOURNAL_SEQUENCE.labels(self.symbol).set(batch.seq)
        self.cursor = last_entry_id
        return next_entries

    def _call_commit(self, script_keys: list, args: list, wait_ms: int) -> tuple[object, list]:
        """Run commit_batch: (its result, the inbox entries after the batch). The script hands
        those back itself, or, with ``wait_ms``, a blocking XREAD sent in the same round trip
        reads them (Redis runs it once the commit is done)."""
        if not wait_ms:
            result = self.scripts.commit_batch(keys=script_keys, args=args)
            return result, (result[2] if isinstance(result, list) else [])
        pipe = self.client.pipeline(transaction=False)
        # EVALSHA by hand: a pipeline given the Script object checks SCRIPT EXISTS on every call.
        pipe.evalsha(self.scripts.commit_batch.sha, len(script_keys), *script_keys, *args)
        pipe.xread({keys.inbox(self.symbol): args[3]}, count=self.batch_max_commands, block=wait_ms)
        try:
            result, streams = pipe.execute()
        except NoScriptError:  # Redis restarted or flushed its scripts: load it, commit without waiting
            return self._call_commit(script_keys, args[:4] + [self.batch_max_commands] + args[5:], 0)
        return result, (streams[0][1] if streams else [])


class StandingMatcher:
    """A worker that holds a symbol's lock and matches commands as they arrive, one ``serve_once`` at a time.

    Submitters that see the lock held wait for their reply instead of contending
    for it, so one lock holder serves every order. If this process stops or
    pauses, its lock expires and submitters or a standby matcher take over; the
    fence makes the hand-over safe.
    """

    def __init__(self, matcher: SymbolMatcher):
        self.matcher = matcher
        self.lease = Lease(matcher.client, keys.lock(matcher.symbol), matcher.lock_ttl_s)
        self.wait_ms = max(1, int(matcher.lock_ttl_s * 1000 / 4))
        self.tenure = 0  # the lease acquisition the matcher's fence was taken in (0: none yet)

    def serve_once(self) -> int:
        """Match what arrives for a while if this worker holds the lease: 1, or 0 standing by."""
        if not self.lease.ensure():
            return 0
        matcher = self.matcher
        # Match only within the first half of the lock's lifetime since it was last renewed
        # (ensure() renews after a third), so the lock never expires under a commit, however
        # long the wait for commands was.
        stop_at = self.lease.renewed_at + matcher.lock_ttl_s / 2
        with matcher.turn:
            if self.tenure == self.lease.acquisitions and matcher.cache.seq is not None:
                committed = matcher.wait_and_match(self.wait_ms, stop_at)
            else:  # a new tenure, or a batch failed: take a fresh fence and re-read the book
                committed = matcher.drain_locked(stop_at).committed
                self.tenure = self.lease.acquisitions
            if not committed:
                self.stand_down()  # another matcher took over the book
        return 1

    def stand_down(self) -> None:
        """Serve the symbol no more for now (another matcher's share or book): hand its lock over at once."""
        if self.lease.held:
            self.tenure = 0
            self.lease.release()

    def stop(self) -> None:
        self.lease.release()
