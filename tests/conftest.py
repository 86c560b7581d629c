"""Shared fixtures: real redis-server and MongoDB-wire servers on free ports, started once per session."""
from __future__ import annotations

import re
import subprocess
import time

import pytest
import redis

from devstack.procs import start_mongo, start_redis
from exchange.config import Settings
from tests.stack import TEST_SECRET_KEY


@pytest.fixture(scope="session")
def redis_server():
    proc = start_redis()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def mongo_server():
    from exchange import mongo

    proc = start_mongo()
    yield proc
    mongo.close_all()
    proc.stop()


@pytest.fixture
def redis_client(redis_server):
    client = redis.Redis(port=redis_server.port)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def settings(redis_server, mongo_server, request) -> Settings:
    db_name = "t_" + re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:50]
    request_limit = "" if request.node.get_closest_marker("no_request_limit") else Settings.rate_limit
    return Settings(redis_url=f"redis://127.0.0.1:{redis_server.port}/0",
                    mongo_url=f"mongodb://127.0.0.1:{mongo_server.port}/?directConnection=true",
                    mongo_db=db_name, secret_key=TEST_SECRET_KEY,
                    # Tests register users by the dozen from one address, and place orders
                    # faster than any person, at whatever prices they need: the tests of those
                    # limits, price bands and halts set their own.
                    registration_rate_limit="", order_rate=None, price_band_bps=None, halt_move_bps=None,
                    rate_limit=request_limit)


@pytest.fixture
def app(settings, redis_client):
    from orderbook.app import create_app

    app = create_app(settings)
    yield app
    from exchange import mongo
    mongo.client(settings.mongo_url).drop_database(settings.mongo_db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def register(client):
    """register("alice") -> auth headers of a new user (with .user_id)."""
    def _register(username: str, password: str = "correct horse") -> "AuthHeaders":
        resp = client.post("/api/v1/users", json={"username": username, "password": password})
        assert resp.status_code == 201, resp.json
        return AuthHeaders(resp.json["token"], resp.json["user_id"])
    return _register


class AuthHeaders(dict):
    def __init__(self, token: str, user_id: str):
        super().__init__(Authorization=f"Bearer {token}")
        self.user_id = user_id


@pytest.fixture
def settle(settings, redis_client, app):
    """Run the settlement worker's steps (live accounts and ledger of record) until nothing is pending."""
    from exchange import mongo
    from ledger.consumer import JournalConsumer
    from ledger.live_settlement import SymbolSettler
    from ledger.record import LedgerOfRecord

    ledger = LedgerOfRecord(mongo.client(settings.mongo_url), mongo.database(settings.mongo_url, settings.mongo_db))
    steps = [SymbolSettler(redis_client, s) for s in settings.symbols]
    steps += [JournalConsumer(redis_client, s, ledger, "test") for s in settings.symbols]

    def _settle() -> None:
        while sum(step.run_once() for step in steps):
            pass
    return _settle


@pytest.fixture
def archive(settings, redis_client, app, settle):
    """Settle, archive and (``delay_s`` after they ended) move done orders to MongoDB, as the ledger
    worker does; the ticker's cursor is moved to the journal's end, as a running ticker would.
    ``archive.db`` is the test's database."""
    from exchange import keys, mongo
    from ledger.archive import JournalArchiver
    from ledger.forget import forget_done_orders

    db = mongo.database(settings.mongo_url, settings.mongo_db)
    mongo.ensure_indexes(db)
    archivers = [JournalArchiver(redis_client, s, db, wait_ms=0) for s in settings.symbols]

    def _archive(delay_s: float = 0.0) -> int:
        settle()
        while sum(archiver.run_once() for archiver in archivers):
            pass
        for symbol in settings.symbols:
            last = redis_client.xrevrange(keys.events(symbol), count=1)
            if last:
                redis_client.set(keys.ticker_cursor(symbol), last[0][0])
        before_ms = int(time.time() * 1000) - int(delay_s * 1000) + 1
        return sum(forget_done_orders(redis_client, db, s, older_than_ms=before_ms) for s in settings.symbols)
    _archive.db = db
    return _archive


@pytest.fixture
def audit(settings, redis_client):
    """The `python -m ledger check` report for the test's stores."""
    from exchange import mongo
    from ledger.audit import check

    return lambda: check(redis_client, mongo.database(settings.mongo_url, settings.mongo_db), settings.symbols)


@pytest.fixture
def clients():
    """Live (Socket.IO) clients a test opens: each is closed when the test ends."""
    opened: list = []
    yield opened
    for client in opened:
        client.close()


@pytest.fixture
def workers():
    """Worker processes started by a test (tests/matcher_worker.py); any still alive at the end are killed."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reap it and close its pipes
