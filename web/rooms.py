"""Socket.IO room names: one per symbol and channel, one per user."""
from __future__ import annotations

CHANNELS = ("book", "trades", "ticker", "candles")


def channel(symbol: str, name: str) -> str:
    """Clients subscribed to one channel of one symbol, e.g. ``KRYP:trades``."""
    return f"{symbol}:{name}"


def user(user_id: str) -> str:
    """Every connection of one user: its private ``order`` events."""
    return f"user:{user_id}"
