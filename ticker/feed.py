"""Live updates for the web tier: Socket.IO events published on the Redis message queue.

A write-only python-socketio RedisManager publishes each event once on the
channel the Flask-SocketIO web replicas listen on, to the room of the symbol's
``ticker`` or ``candles`` channel; each replica delivers it to its own clients there. Only the process that rolled a batch
emits its candle, and only the flusher-lease holder emits quotes, so every
update is published once however many ticker replicas run.
"""
from __future__ import annotations

import socketio

from exchange import rooms


class LiveFeed:
    def __init__(self, redis_url: str):
        self.manager = socketio.RedisManager(redis_url, channel=rooms.QUEUE_CHANNEL, write_only=True)

    def candle(self, symbol: str, interval: str, candle: dict) -> None:
        self.manager.emit("candle", {"symbol": symbol, "interval": interval, **candle},
                          room=rooms.channel(symbol, "candles"))

    def ticker(self, symbol: str, quote: dict) -> None:
        self.manager.emit("ticker", quote, room=rooms.channel(symbol, "ticker"))
