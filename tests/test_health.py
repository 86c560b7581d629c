"""Health: every worker beats once a second; GET /api/v1/healthz?deep=1 reports each kind's newest
heartbeat and how far it is behind the journal, and answers 503 degraded while a kind is stale.
The shallow check pings MongoDB too."""
from __future__ import annotations

import signal
import time
from dataclasses import replace

import requests

from devstack.procs import free_port
from exchange.health import KINDS
from tests.polling import wait_for
from tests.stack import start_stack

STALE_S = 2
NOWHERE_MONGO = "mongodb://127.0.0.1:{port}/?directConnection=true"


def deep_health(stack) -> tuple[int, dict]:
    answer = requests.get(f"{stack.base_url}/api/v1/healthz?deep=1", timeout=10)
    return answer.status_code, answer.json()


def test_deep_health_reports_every_worker_and_degrades_while_one_is_stale():
    with start_stack(replicas=1, env={"HEALTH_STALE_S": str(STALE_S)}) as stack:
        user = requests.post(f"{stack.base_url}/api/v1/users", timeout=10,
                             json={"username": "healthy", "password": "correct horse"}).json()
        headers = {"Authorization": f"Bearer {user['token']}"}
        for side in ("sell", "buy"):  # a trade, for the ledger and the ticker to follow
            placed = requests.post(f"{stack.base_url}/api/v1/orders", headers=headers, timeout=10,
                                   json={"symbol": "KRYP", "side": side, "price": "5.00", "quantity": 1})
            assert placed.status_code == 201

        def settled() -> dict | None:
            status, body = deep_health(stack)
            lags = [n for kind in body["workers"].values() for by_symbol in kind.get("lag", {}).values()
                    for n in by_symbol.values()]
            beaten = all("heartbeat" in shown["loops_s"] for shown in body["workers"].values())  # a second beat
            return body if status == 200 and body["journal"]["KRYP"] > 0 and not any(lags) and beaten else None
        body = wait_for(settled, "every worker beating and caught up with the journal")
        assert body["status"] == "ok" and set(body["workers"]) == set(KINDS)
        for kind, shown in body["workers"].items():
            assert shown["status"] == "ok" and shown["age_s"] < STALE_S and shown["instances"] == 1, kind
            assert "heartbeat" in shown["loops_s"]
        assert set(body["workers"]["ledger.worker"]["lag"]) == {"live_accounts", "ledger_of_record"}
        assert set(body["workers"]["ticker.worker"]["lag"]) == {"candles"}

        ledger = next(proc for proc in stack.workers if proc.name.startswith("ledger"))
        ledger.popen.send_signal(signal.SIGSTOP)  # alive, but doing nothing
        try:
            status, body = wait_for(lambda: (answer := deep_health(stack))[0] == 503 and answer,
                                    "the paused ledger worker seen as stale")
            assert body["status"] == "degraded" and body["unwell"] == ["ledger.worker"]
            assert body["workers"]["ledger.worker"]["status"] == "stale"
            assert requests.get(f"{stack.base_url}/api/v1/healthz", timeout=10).status_code == 200  # shallow
        finally:
            ledger.popen.send_signal(signal.SIGCONT)
        wait_for(lambda: deep_health(stack)[0] == 200, "the ledger worker beating again")


def test_the_shallow_check_answers_503_at_once_while_mongodb_is_away(settings, redis_client):
    from orderbook.app import create_app

    client = create_app(replace(settings, mongo_url=NOWHERE_MONGO.format(port=free_port()))).test_client()
    started = time.monotonic()
    answer = client.get("/api/v1/healthz")
    assert answer.status_code == 503 and answer.json["error"]["code"] == "unavailable"
    assert time.monotonic() - started < 4  # the ping's own 1 s, not the 5 s other reads allow


def test_without_workers_the_deep_check_says_which_are_missing(client):
    answer = client.get("/api/v1/healthz?deep=1")
    assert answer.status_code == 503 and answer.json["unwell"] == sorted(KINDS)
    assert all(shown["status"] == "missing" for shown in answer.json["workers"].values())
    assert client.get("/api/v1/healthz?deep=yes").json["error"]["code"] == "invalid_parameter"


def test_a_containers_check_finds_its_own_workers_beat(redis_client, settings, monkeypatch):
    from exchange import health, keys

    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    assert health.main(["ledger.worker"]) == 1  # nothing beats yet
    health.Heartbeat(redis_client, "ledger.worker", {"settle": time.time()}).beat()
    assert health.main(["ledger.worker"]) == 0 and health.main(["ticker.worker"]) == 1
    assert health.main(["nonsense"]) == 2
    redis_client.hset(keys.heartbeats("ticker.worker"), "elsewhere:1", b'{"time_ms": %d}' % (time.time() * 1000))
    assert health.main(["ticker.worker"]) == 1  # another host's beat is not this container's
    assert not health.beating_here(redis_client, "ledger.worker", stale_s=0)
