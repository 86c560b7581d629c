"""An operator's commands to a symbol's book: halt it (for a while, or until resumed) and resume it.

They go through the symbol's inbox like any order, so the matcher applies them in
order with the orders around them and journals ``halted`` or ``resumed``.
"""
from __future__ import annotations

import time

import redis

from exchange.config import Settings
from exchange.scripts import Scripts
from orderbook.commands import encode_halt, encode_resume
from orderbook.matcher import SymbolMatcher
from orderbook.submission import Submitter


def set_trading(client: redis.Redis, settings: Settings, symbol: str, *, halt: bool,
                for_s: int | None = None) -> dict | None:
    """Halt ``symbol`` (for ``for_s`` seconds; None: until resumed) or resume it. Returns the
    status the matcher answered ({"status", "halted_until", "halt_reason"}), {} if a resume
    found the symbol trading, or None if no answer came within ORDER_WAIT_MS (it stays queued)."""
    if symbol not in settings.symbols:
        raise ValueError(f"{symbol} is not listed (SYMBOLS={','.join(settings.symbols)})")
    matcher = SymbolMatcher.for_settings(client, symbol, settings, Scripts(client))
    submitter = Submitter(client, {symbol: matcher}, settings.order_wait_ms)
    until_ms = None if for_s is None else int(time.time() * 1000) + for_s * 1000
    reply = submitter.submit(symbol, encode_halt(until_ms) if halt else encode_resume()).result
    return None if reply is None else reply.get("status", {})
