"""A per-bot cap on actions per clock minute, shared by every runner replica (a Redis counter)."""
from __future__ import annotations

import time

import redis

from exchange import keys


class ActionBudget:
    def __init__(self, client: redis.Redis, per_minute: int):
        self.client = client
        self.per_minute = per_minute

    def take(self, bot_id: str) -> bool:
        """Count one action of the bot; False (and not counted) once it used this minute's."""
        key = keys.bot_actions(bot_id, int(time.time()) // 60)
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 120)
        used, _ = pipe.execute()
        if used > self.per_minute:
            self.client.decr(key)
            return False
        return True
