"""A web replica with SOCKETIO_ASYNC_MODE=threading (no eventlet): same command
line as `make up`, on a real redis-server; the journal is written by the real
matcher in this process. Long-polling first, then the websocket upgrade
(simple-websocket)."""
from __future__ import annotations

import requests

from devstack.procs import free_port
from exchange import journal, keys
from tests.polling import wait_for
from tests.stack import TEST_SECRET_KEY, start_web
from tests.test_matcher_redis import SYMBOL, stream
from tests.test_web_feeds import match, rest_book
from tests.test_web_live import LiveClient


def test_a_threading_replica_serves_snapshot_deltas_and_trades(redis_server, redis_client, tmp_path):
    port = free_port()
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0", "SOCKETIO_ASYNC_MODE": "threading",
           "SECRET_KEY": TEST_SECRET_KEY,
           "PYTHONUNBUFFERED": "1"}
    replica = start_web(1, port, env, tmp_path)
    client = None
    try:
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["replica"] == "1"
        # Nobody connected: the replica reads no journal; the client connecting reloads its books.
        wait_for(lambda: not requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["following"],
                 "the idle replica to pause")
        match(redis_client, stream(seed=4, count=100, id_prefix="idle"))
        before = rest_book(redis_client)
        client = LiveClient(f"http://127.0.0.1:{port}",
                            subscriptions=[{"symbol": SYMBOL, "channels": ["book", "trades"]}])
        client.wait_for(lambda: SYMBOL in client.books, "the snapshot")
        assert client.book(SYMBOL) == before
        assert client.sio.transport() == "websocket"

        commands = stream(seed=3, count=200)
        match(redis_client, commands)
        expected = rest_book(redis_client)
        client.wait_for(lambda: client.books[SYMBOL]["sequence"] >= expected["sequence"], "the last update")
        assert client.gaps == 0
        assert client.book(SYMBOL) == expected
        traded = [e.trade_id for _id, e in journal.read_entries(redis_client.xrange(keys.events(SYMBOL)))
                  if isinstance(e, journal.TradeEvent) and e.sequence > before["sequence"]]
        assert traded and [t["trade_id"] for t in client.of("trade")] == traded
        assert "threading" in replica.log() and "Traceback" not in replica.log()
    finally:
        if client is not None:
            client.close()
        replica.stop()
