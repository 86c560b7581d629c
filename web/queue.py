"""The Redis message queue, with the ticker's updates routed to per-channel rooms.

The ticker (ticker/feed.py) publishes ``candle`` and ``ticker`` events once on
the queue, addressed to the room named after the symbol. Here clients pick
channels, so each replica delivers them to the ``SYM:candles`` or ``SYM:ticker``
room instead: a client subscribed to the ticker alone gets no candles.
"""
from __future__ import annotations

import socketio

from web import rooms

CHANNEL = "flask-socketio"  # Flask-SocketIO's default channel; ticker/feed.py publishes on it
ROUTED = {"ticker": "ticker", "candle": "candles"}  # event -> the channel that carries it


class ChannelRoutingRedisManager(socketio.RedisManager):
    def _handle_emit(self, message):
        channel, room = ROUTED.get(message.get("event")), message.get("room")
        if channel is not None and isinstance(room, str) and ":" not in room:
            message = {**message, "room": rooms.channel(room, channel)}
        return super()._handle_emit(message)
