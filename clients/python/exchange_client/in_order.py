"""A Socket.IO client that handles the server's events in the order they arrive.

python-engineio's threaded client starts a new thread for every message it receives, so two
events sent back to back can reach their handlers in either order: a ``book_update`` before
the one it chains onto (a false gap and a needless resubscribe), a trade ahead of an earlier
one (a wrong last price), a fill before its order's acceptance. The server sends every
client's events in order and the websocket keeps it; ``InOrderClient`` keeps it too, by
handling each message on the thread that read it, before the next is read.

So a handler must be quick, and must not ``call()``: the answer it would wait for arrives
behind it. ``emit()`` only queues the packet, and a ``disconnect()`` from the reading thread
(a handler's, or the server's DISCONNECT packet) does not wait for that thread to end.
"""
from __future__ import annotations

import threading

import engineio
import socketio


class _InOrderEngineIOClient(engineio.Client):
    def _trigger_event(self, event, *args, run_async=False, **kwargs):
        # Only a "message" is ever handed to a thread of its own (engineio.Client._receive_packet).
        return super()._trigger_event(event, *args, run_async=run_async and event != "message", **kwargs)

    def disconnect(self, abort=False, **kwargs):
        # Joining the reading thread from itself would raise; it ends once the socket closes.
        on_reader = threading.current_thread() is self.read_loop_task
        return super().disconnect(abort=abort or on_reader, **kwargs)


class InOrderClient(socketio.Client):
    """``socketio.Client`` whose event handlers run one at a time, in the order the server sent
    the events."""

    def _engineio_client_class(self):
        return _InOrderEngineIOClient
