"""Live updates for the web tier: Socket.IO events published on the Redis message queue.

A write-only python-socketio RedisManager publishes each event once on the
channel the Flask-SocketIO web replicas listen on; each replica delivers it to
its own clients in the symbol's room. Only the process that rolled a batch
emits its candle, and only the flusher-lease holder emits quotes, so every
update is published once however many ticker replicas run.
"""
from __future__ import annotations

import socketio

CHANNEL = "flask-socketio"  # Flask-SocketIO's default message-queue channel


class LiveFeed:
    def __init__(self, redis_url: str):
        self.manager = socketio.RedisManager(redis_url, channel=CHANNEL, write_only=True)

    def candle(self, symbol: str, interval: str, candle: dict) -> None:
        self.manager.emit("candle", {"symbol": symbol, "interval": interval, **candle}, room=symbol)

    def ticker(self, symbol: str, quote: dict) -> None:
        self.manager.emit("ticker", quote, room=symbol)
