"""Base of the workers that walk one symbol's journal under a lease of their own."""
from __future__ import annotations

import time

import redis

from exchange.lease import Lease


class JournalWorker:
    """Calls ``apply_batch()`` (one batch; returns entries read) while this worker holds the lease."""

    def __init__(self, client: redis.Redis, symbol: str, lease_key: str, batch_size: int, lease_ms: int):
        self.client = client
        self.symbol = symbol
        self.batch_size = batch_size
        self.lease_s = lease_ms / 1000
        self.lease = Lease(client, lease_key, self.lease_s)

    def apply_batch(self) -> int:
        raise NotImplementedError

    def run_once(self) -> int:
        """Work through what is pending if this worker holds the symbol's lease; returns entries read."""
        if not self.lease.ensure():
            return 0
        total = 0
        started = time.monotonic()
        while time.monotonic() - started < self.lease_s / 3:  # well before the lease needs renewing
            count = self.apply_batch()
            total += count
            if count < self.batch_size:
                break
        return total

    def stop(self) -> None:
        self.lease.release()
