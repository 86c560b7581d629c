"""A web replica under abuse, live: one real replica (threading mode, as in
test_web_threading) on a real redis-server, python-socketio clients."""
from __future__ import annotations

import requests

from devstack.procs import free_port
from tests.stack import start_web
from tests.test_web_live import LiveClient
from web.throttle import SUBSCRIBES_PER_CONNECTION

ALLOWED = int(SUBSCRIBES_PER_CONNECTION.split()[0])


def test_a_subscribe_flood_is_rate_limited_and_the_connection_stays(redis_server, tmp_path):
    port = free_port()
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0", "SOCKETIO_ASYNC_MODE": "threading",
           "PYTHONUNBUFFERED": "1"}
    replica = start_web(1, port, env, tmp_path)
    url = f"http://127.0.0.1:{port}"
    flooder = neighbour = None
    try:
        health = requests.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        flooder = LiveClient(url)
        flooder.wait_for(lambda: flooder.of("hello"), "hello")
        sent = ALLOWED + 10
        for _ in range(sent):
            flooder.sio.emit("subscribe", {"symbol": "KRYP", "channels": ["book"]})
        flooder.wait_for(lambda: len(flooder.of("subscribed")) + len(flooder.of("error")) == sent,
                         "an answer to every subscribe")
        assert len(flooder.of("subscribed")) == len(flooder.of("book_snapshot")) == ALLOWED
        assert {e["code"] for e in flooder.of("error")} == {"rate_limited"} and len(flooder.of("error")) == 10
        assert flooder.sio.connected

        neighbour = LiveClient(url, subscriptions=[{"symbol": "KRYP", "channels": ["book"]}])
        neighbour.wait_for(lambda: neighbour.of("book_snapshot"), "the neighbour's snapshot")
        assert neighbour.of("error") == []
        assert "Traceback" not in replica.log()
    finally:
        for client in (flooder, neighbour):
            if client is not None:
                client.close()
        replica.stop()
