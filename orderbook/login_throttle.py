"""Failed logins per username: after ``FAILURES`` in the window, 429 until the oldest ages out.

The windows live in Redis (``limits``' moving window, keys under
``keys.login_failures_prefix()``), so every API replica counts the same
failures. A locked username is refused before its password is checked: a
guesser spends no argon2 time on it. The owner is locked out too until the
window frees a slot; tokens already issued keep working. A successful login
clears the username's failures.
"""
from __future__ import annotations

import math
import time

import redis
from limits import parse
from limits.strategies import MovingWindowRateLimiter

from exchange import keys, redis_client
from orderbook.errors import ApiError

FAILURES = "10 per 15 minutes"


class LoginThrottle:
    def __init__(self, client: redis.Redis, failures: str = FAILURES):
        self.limit = parse(failures)
        self.description = failures
        self.window = MovingWindowRateLimiter(redis_client.limits_storage(client, keys.login_failures_prefix()))

    def check(self, username: str) -> None:
        """ApiError 429 (with Retry-After) while ``username`` has used up its failures."""
        stats = self.window.get_window_stats(self.limit, username)
        if stats.remaining <= 0:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise ApiError(429, "rate_limited",
                           f"too many failed logins for this username (at most {self.description}); "
                           f"try again in {retry_after} s", {"Retry-After": str(retry_after)})

    def failed(self, username: str) -> None:
        self.window.hit(self.limit, username)

    def succeeded(self, username: str) -> None:
        self.window.clear(self.limit, username)
