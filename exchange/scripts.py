"""Lua scripts, loaded once from the ``.lua`` files beside this module.

Each script's header documents its KEYS and ARGV. ``Scripts(redis)`` registers
them on a connection; calls go by EVALSHA and reload on NOSCRIPT.
"""
from __future__ import annotations

from pathlib import Path

import redis
from redis.commands.core import Script

LUA_DIR = Path(__file__).with_name("lua")
NAMES = ("begin_batch", "commit_batch", "place_hold", "apply_account", "book_snapshot", "book_orders",
         "roll_candles", "matcher_roster")


def source(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


class Scripts:
    # One redis-py Script per .lua file (NAMES), called as scripts.<name>(keys=[...], args=[...]).
    begin_batch: Script
    commit_batch: Script
    place_hold: Script
    apply_account: Script
    book_snapshot: Script
    book_orders: Script
    roll_candles: Script
    matcher_roster: Script

    def __init__(self, client: redis.Redis):
        for name in NAMES:
            setattr(self, name, client.register_script(source(name)))
