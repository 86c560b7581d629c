"""exchange_client.in_order: a Socket.IO client whose handlers see the server's events in the
order it sent them, against a real python-socketio server on a free port (threading mode, on
werkzeug's server, websocket transport).

Each handler takes a moment, as a bot's does when it acts on what it got; python-socketio's
own client then runs later events' handlers ahead of earlier ones', which the control shows."""
from __future__ import annotations

import logging
import random
import threading
import time

import pytest
import socketio
from werkzeug.serving import make_server

from exchange_client.in_order import InOrderClient

COUNT = 300


@pytest.fixture(scope="module")
def server_url():
    server_side = socketio.Server(async_mode="threading")

    @server_side.on("send")
    def send(sid, count):
        for number in range(count):
            server_side.emit("numbered", number, to=sid)
        server_side.disconnect(sid)  # the server ends the session, as a revoked token's does

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, socketio.WSGIApp(server_side), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def numbers_received(client_class, url: str) -> tuple[list[int], list, str]:
    """The numbers a client of ``client_class`` handled, in the order it handled them, the
    disconnects it was told of, and its Engine.IO state, once the server has sent COUNT and
    disconnected it."""
    client = client_class()
    handled, disconnects, lock = [], [], threading.Lock()

    @client.on("numbered")
    def numbered(number):
        time.sleep(random.random() / 2000)  # a handler doing some work
        with lock:
            handled.append(number)

    client.on("disconnect", lambda *reason: disconnects.append(reason))
    client.connect(url, transports=["websocket"], wait_timeout=10)
    client.emit("send", COUNT)
    deadline = time.monotonic() + 10
    while (len(handled) < COUNT or client.eio.state != "disconnected") and time.monotonic() < deadline:
        time.sleep(0.01)
    return handled, disconnects, client.eio.state


def test_every_event_is_handled_in_the_order_sent_and_the_servers_disconnect_ends_it(server_url, caplog):
    handled, disconnects, state = numbers_received(InOrderClient, server_url)
    assert handled == list(range(COUNT))
    # The server's DISCONNECT, handled on the reading thread, ends the connection cleanly.
    assert len(disconnects) == 1 and state == "disconnected"
    assert [r.getMessage() for r in caplog.records if r.name.startswith(("engineio", "socketio"))
            and r.levelno >= logging.ERROR] == []


def test_control_python_socketios_own_client_handles_them_out_of_order(server_url):
    handled, _, _ = numbers_received(socketio.Client, server_url)
    assert sorted(handled) == list(range(COUNT)) and handled != list(range(COUNT))
