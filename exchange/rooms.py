"""Socket.IO names shared by the web tier and the processes that publish into it.

Rooms: one per symbol and channel, one per user. The ticker publishes its
``ticker`` and ``candle`` events once on the Redis message queue (``QUEUE_CHANNEL``)
straight to the channel's room, so every web replica delivers them to exactly the
clients subscribed to that channel.
"""
from __future__ import annotations

QUEUE_CHANNEL = "flask-socketio"  # the Redis pub/sub channel of the Socket.IO message queue

CHANNELS = ("book", "trades", "ticker", "candles")


def channel(symbol: str, name: str) -> str:
    """Clients subscribed to one channel of one symbol, e.g. ``KRYP:trades``."""
    return f"{symbol}:{name}"


def user(user_id: str) -> str:
    """Every connection of one user: its private ``order`` events."""
    return f"user:{user_id}"
