"""A pottery Redlock kept across many loop iterations: taken once, extended before it runs out.

Workers that own a symbol's stream for a while (settlement, the ledger of
record) hold one of these instead of taking and releasing a lock every pass;
each Redlock call costs pottery a thread pool and a round trip. A lease is
about efficiency and order, never the only guard: what the worker writes is
idempotent (per-account sequences, the ledger's cursor), so a holder that
lost its lease unawares cannot double anything.
"""
from __future__ import annotations

import sys
import time

import redis
from pottery import Redlock
from pottery.exceptions import ExtendUnlockedLock, ReleaseUnlockedLock


class Lease:
    def __init__(self, client: redis.Redis, key: str, ttl_s: float):
        self.lock = Redlock(key=key, masters={client}, auto_release_time=ttl_s, num_extensions=sys.maxsize)
        self.ttl_s = ttl_s
        self.held = False
        self.acquisitions = 0  # how many times it was taken: a change means a new tenure
        self.renewed_at = 0.0  # monotonic time of the last take or extension (a little before Redis's)
        self._renew_at = 0.0

    def ensure(self) -> bool:
        """True if this worker holds the lease now (taking or extending it as needed)."""
        now = time.monotonic()
        if self.held and now < self._renew_at:
            return True
        if self.held:
            try:
                self.lock.extend()
            except ExtendUnlockedLock:
                self.held = False
        if not self.held:
            self.held = self.lock.acquire(blocking=False)
            self.acquisitions += self.held
        if self.held:
            self.renewed_at = now
            self._renew_at = now + self.ttl_s / 3
        return self.held

    def release(self) -> None:
        if self.held:
            self.held = False
            try:
                self.lock.release()
            except ReleaseUnlockedLock:
                pass
