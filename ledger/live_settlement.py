"""Applies a symbol's journal to the live Redis accounts, in order, exactly once per account."""
from __future__ import annotations

import redis

from exchange import journal, keys, redis_client
from exchange.metrics import APPLIED_SEQUENCE
from exchange.scripts import Scripts
from ledger.journal_worker import JournalWorker
from ledger.postings import POSTING_KINDS, encode_postings, group_by_account


class SettlementFailed(Exception):
    """An account posting of a batch failed; the batch stays unsettled."""


class SymbolSettler(JournalWorker):
    def __init__(self, client: redis.Redis, symbol: str, scripts: Scripts | None = None,
                 batch_size: int = 500, lease_ms: int = 3000):
        super().__init__(client, symbol, keys.settlement_lease(symbol), batch_size, lease_ms)
        self.scripts = scripts or Scripts(client)
        self.cursor: bytes | None = None  # the last entry settled, as the last pass read it

    def waits_after(self) -> bytes | None:
        """The entry after which this settler has work again (None: it holds no lease, or has not looked)."""
        return self.cursor if self.lease.held else None

    def apply_batch(self) -> int:
        self.cursor = cursor = self.client.get(keys.settled_cursor(self.symbol)) or b"0-0"
        entries = self.client.xrange(keys.events(self.symbol), min=b"(" + cursor, count=self.batch_size)
        if not entries:
            return 0
        events = journal.read_kinds(entries, POSTING_KINDS)  # an accepted or rested order posts nothing here
        failed = self._apply(group_by_account(events))
        if failed:
            # The cursor stays: the next pass retries the batch, and each account's own
            # sequence makes the postings that did apply no-ops.
            raise SettlementFailed(f"{self.symbol}: {len(failed)} account posting(s) failed: {failed[0]}")
        # Its own round trip, after every account step is known applied (the accounts and
        # the cursor live in different slots, so no one script or transaction can hold both).
        self.client.set(keys.settled_cursor(self.symbol), entries[-1][0])
        self.cursor = entries[-1][0]
        APPLIED_SEQUENCE.labels(self.symbol, "live_accounts").set(journal.entry_sequence(entries[-1][1]))
        return len(entries)

    def _apply(self, postings_by_account: dict) -> list[Exception]:
        """Each account's postings, in one pipeline (on a cluster, one call each: its pipelines take
        no script); the failures."""
        calls = [([keys.account(user_id), keys.user_orders(user_id)], [self.symbol, *encode_postings(postings)])
                 for user_id, postings in postings_by_account.items()]
        if redis_client.is_cluster(self.client):
            failed = []
            for account_keys, args in calls:
                try:
                    self.scripts.apply_account(keys=account_keys, args=args)
                except redis_client.UNAVAILABLE:
                    raise  # a node away: the batch is retried whole later, not account by account now
                except redis.RedisError as error:
                    failed.append(error)
            return failed
        pipe = self.client.pipeline(transaction=False)
        for account_keys, args in calls:
            self.scripts.apply_account(keys=account_keys, args=args, client=pipe)
        return [result for result in pipe.execute(raise_on_error=False) if isinstance(result, Exception)]
