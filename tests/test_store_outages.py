"""A data store that is away (restarting, reloading its file, down) is the exchange's trouble,
not the request's: the API answers 503 with the usual error body, starts without MongoDB, and
the ledger tools say what they could not reach instead of dying with a traceback."""
from __future__ import annotations

from dataclasses import replace

import pytest
import redis

from devstack.procs import free_port

NOWHERE_REDIS = "redis://127.0.0.1:{port}/0"
NOWHERE_MONGO = "mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=300"


def test_the_api_answers_503_with_an_error_body_while_redis_is_away(settings):
    from orderbook.app import create_app

    app = create_app(replace(settings, redis_url=NOWHERE_REDIS.format(port=free_port()), rate_limit=""))
    client = app.test_client()
    for path in ("/api/v1/book/KRYP", "/api/v1/trades/KRYP", "/api/v1/ticker/KRYP"):
        resp = client.get(path)
        assert resp.status_code == 503, (path, resp.get_data(as_text=True))
        assert resp.json["error"]["code"] == "unavailable" and resp.headers["Retry-After"] == "1"


@pytest.mark.parametrize("answer", ["CLUSTERDOWN The cluster is down", "TRYAGAIN Multiple keys request during rehashing of slot"])
def test_the_api_answers_503_while_a_cluster_node_rejoins_or_a_slot_moves(settings, redis_client, monkeypatch, answer):
    # What a Redis Cluster node answers while it restarts and rejoins, or while a slot migrates:
    # redis-py raises them as response errors, not connection errors, yet a retry gets past them.
    from orderbook.app import create_app

    app = create_app(replace(settings, rate_limit=""))
    error = redis.exceptions.ClusterDownError if answer.startswith("CLUSTERDOWN") else redis.exceptions.TryAgainError

    def refuse(*_args, **_kwargs):
        raise error(answer.split(" ", 1)[1])

    monkeypatch.setattr(redis.Redis, "execute_command", refuse)
    resp = app.test_client().get("/api/v1/book/KRYP")
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == "unavailable" and resp.headers["Retry-After"] == "1"


def test_an_api_replica_starts_and_serves_the_book_while_mongodb_is_away(settings, redis_client):
    from orderbook.app import create_app

    app = create_app(replace(settings, mongo_url=NOWHERE_MONGO.format(port=free_port())))
    assert app.test_client().get("/api/v1/book/KRYP").status_code == 200


def test_the_ledger_tools_report_a_store_they_cannot_reach(monkeypatch, capsys, settings):
    from ledger.__main__ import main

    monkeypatch.setenv("REDIS_URL", NOWHERE_REDIS.format(port=free_port()))
    monkeypatch.setenv("MONGO_URL", settings.mongo_url)
    for command in ("check", "reconcile"):
        assert main([command]) == 1
        assert "PROBLEM: cannot reach Redis" in capsys.readouterr().out
