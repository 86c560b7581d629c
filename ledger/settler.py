"""Applies a symbol's journal to the live Redis accounts, in order, exactly once per account."""
from __future__ import annotations

import orjson
import redis

from exchange import keys
from exchange.scripts import Scripts
from ledger.journal_worker import JournalWorker
from ledger.settlement import encode_steps, group_by_account


class SymbolSettler(JournalWorker):
    def __init__(self, client: redis.Redis, symbol: str, scripts: Scripts | None = None,
                 batch_size: int = 500, lease_ms: int = 3000):
        super().__init__(client, symbol, keys.settlement_lease(symbol), batch_size, lease_ms)
        self.scripts = scripts or Scripts(client)

    def step(self) -> int:
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
