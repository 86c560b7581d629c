"""Applies a symbol's journal to the live Redis accounts, in order, exactly once per account."""
from __future__ import annotations

import time

import orjson
import redis

from exchange import keys
from exchange.lease import Lease
from exchange.scripts import Scripts
from ledger.settlement import encode_steps, group_by_account


class SymbolSettler:
    def __init__(self, client: redis.Redis, symbol: str, scripts: Scripts | None = None,
                 batch_size: int = 500, lease_ms: int = 3000):
        self.client = client
        self.symbol = symbol
        self.scripts = scripts or Scripts(client)
        self.batch_size = batch_size
        self.lease_s = lease_ms / 1000
        self.lease = Lease(client, keys.settlement_lease(symbol), self.lease_s)

    def stop(self) -> None:
        self.lease.release()

    def run_once(self) -> int:
        """Settle what is pending if this worker holds the symbol's lease; returns events read."""
        if not self.lease.ensure():
            return 0
        total = 0
        started = time.monotonic()
        while time.monotonic() - started < self.lease_s / 3:
            count = self.settle_batch()
            total += count
            if count < self.batch_size:
                break
        return total

    def settle_batch(self) -> int:
        cursor = self.client.get(keys.settled_cursor(self.symbol)) or b"0-0"
        entries = self.client.xrange(keys.events(self.symbol), min=b"(" + cursor, count=self.batch_size)
        if not entries:
            return 0
        events = [orjson.loads(fields[b"event"]) for _id, fields in entries]
        pipe = self.client.pipeline(transaction=False)
        for user_id, steps in group_by_account(events).items():
            self.scripts.apply_account(keys=[keys.account(user_id)], args=[self.symbol, *encode_steps(steps)],
                                       client=pipe)
        pipe.set(keys.settled_cursor(self.symbol), entries[-1][0])
        pipe.execute()
        return len(entries)
