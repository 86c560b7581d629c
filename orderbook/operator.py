"""An operator's commands to a symbol's book: halt it (for a while, or until resumed) and resume it.

They go through the symbol's inbox like any order, so the matcher applies them in
order with the orders around them and journals ``halted`` or ``resumed``. The
operator only appends and waits for the answer, never matches: matching here would
apply the orders queued before it under this shell's settings, not the stack's.
"""
from __future__ import annotations

import time
import uuid

import orjson
import redis

from exchange import keys
from exchange.config import Settings
from orderbook.commands import encode_halt, encode_resume


def set_trading(client: redis.Redis, settings: Settings, symbol: str, *, halt: bool,
                for_s: int | None = None) -> dict | None:
    """Halt ``symbol`` (for ``for_s`` seconds; None: until resumed) or resume it. Returns the
    status the matcher answered ({"status", "halted_until", "halt_reason"}), {} if a resume
    found the symbol trading, or None if no matcher answered within ORDER_WAIT_MS (the command
    stays queued, and the next matcher to run applies it)."""
    if symbol not in settings.symbols:
        raise ValueError(f"{symbol} is not listed (SYMBOLS={','.join(settings.symbols)})")
    until_ms = None if for_s is None else int(time.time() * 1000) + for_s * 1000
    reply_to = uuid.uuid4().hex
    client.xadd(keys.inbox(symbol), {"c": encode_halt(until_ms) if halt else encode_resume(), "r": reply_to})
    popped = client.blpop([keys.reply(symbol, reply_to)], timeout=settings.order_wait_ms / 1000)
    return None if popped is None else orjson.loads(popped[1]).get("status", {})
