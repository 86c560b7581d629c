"""A process that places orders with a pause between the hold and the queue, to be killed there.

    python -m tests.entry_crasher REDIS_URL USER_ID [USER_ID ...]

Used by tests/test_ledger_crash.py: killed with SIGKILL at random moments it
leaves holds whose order never reached the book, which reconciliation must release.
"""
from __future__ import annotations

import random
import sys
import time

import redis

from exchange.config import Settings
from exchange.scripts import Scripts
from ledger.accounts import Accounts
from orderbook.entry import OrderEntry
from orderbook.errors import ApiError
from orderbook.schemas import PlaceOrder


def main() -> None:
    redis_url, user_ids = sys.argv[1], sys.argv[2:]
    client = redis.Redis.from_url(redis_url)
    scripts = Scripts(client)
    entry = OrderEntry(Settings(redis_url=redis_url), client, Accounts(client, scripts), scripts)
    entry.after_hold = lambda order: time.sleep(0.05)  # the window between the hold and the book
    rng = random.Random()
    print("placing", flush=True)  # imports done: the test's random kill times count from here
    while True:
        side = rng.choice(("buy", "sell"))
        try:
            entry.place(rng.choice(user_ids), PlaceOrder(symbol="KRYP", side=side, price="10.00",
                                                          quantity=rng.randint(1, 3)))
        except ApiError:
            pass


if __name__ == "__main__":
    main()
