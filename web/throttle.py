"""Per-connection limits on what a client may ask for too often: pure, in memory.

A book ``subscribe`` serialises the whole book under the lock every update of
that symbol needs, so one client sending them in a loop would delay everyone.
A Socket.IO session lives on one replica (sticky), so its counter lives in
that replica's memory (``limits``' moving window), not in Redis.
"""
from __future__ import annotations

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

SUBSCRIBES_PER_CONNECTION = "20 per 5 seconds"  # a page subscribes a few times a minute


class SubscribeThrottle:
    def __init__(self, limit: str = SUBSCRIBES_PER_CONNECTION):
        self.description = limit
        self.limit = parse(limit)
        self.window = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, sid: str) -> bool:
        """Count one subscribe from connection ``sid``; False once it is over the limit."""
        return self.window.hit(self.limit, "subscribe", sid)

    def error(self) -> dict:
        return {"code": "rate_limited",
                "message": f"too many subscribes on this connection (at most {self.description}); try again shortly"}
