"""Live accounts in Redis: balances and holds, moved only by Lua scripts.

Each account is one hash (``keys.account``) of integers:
``cash:available``, ``cash:on_hold``, ``<SYM>:available``, ``<SYM>:on_hold``
and one ``hold:<order id>:<asset>`` per order still holding funds. Placing a hold is
one script that checks and moves atomically, so two racing orders can never
overdraw an account.
"""
from __future__ import annotations

import redis

from exchange import keys
from exchange.scripts import Scripts

CASH = "cash"


class NoAccount(Exception):
    pass


class Accounts:
    def __init__(self, client: redis.Redis, scripts: Scripts | None = None):
        self.client = client
        self.scripts = scripts or Scripts(client)

    def open(self, user_id: str, cash_cents: int, shares: dict[str, int]) -> None:
        """Create the live account with its starting balances (once)."""
        mapping = {f"{CASH}:available": cash_cents, f"{CASH}:on_hold": 0}
        for symbol, quantity in shares.items():
            mapping[f"{symbol}:available"] = quantity
            mapping[f"{symbol}:on_hold"] = 0
        self.client.hset(keys.account(user_id), mapping=mapping)

    def exists(self, user_id: str) -> bool:
        return bool(self.client.exists(keys.account(user_id)))

    def place_hold(self, user_id: str, asset: str, amount: int, order_id: str) -> bool:
        """Reserve ``amount`` of ``asset`` for ``order_id``; False if not enough is available."""
        result = self.scripts.place_hold(keys=[keys.account(user_id)], args=[asset, amount, order_id])
        if result == -1:
            raise NoAccount(user_id)
        return result == 1

    def balances(self, user_id: str) -> dict[str, dict[str, int]]:
        """{asset: {"available": n, "on_hold": n}} from the live hash."""
        raw = self.client.hgetall(keys.account(user_id))
        if not raw:
            raise NoAccount(user_id)
        balances: dict[str, dict[str, int]] = {}
        for field, value in raw.items():
            asset, _, kind = field.decode().partition(":")
            if kind in ("available", "on_hold"):
                balances.setdefault(asset, {"available": 0, "on_hold": 0})[kind] = int(value)
        return balances
