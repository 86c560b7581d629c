"""Logs: one JSON object per line from every process (LOG_FORMAT=text for a terminal), and one
request id through nginx's access log, the API's access log and the API's answer."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest
import requests

from exchange import logs
from exchange.config import Settings
from tests.polling import wait_for
from tests.stack import start_stack

REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def records(text: str) -> list[dict]:
    """The JSON lines of a log (other lines, such as a library's own prints, are skipped)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_a_record_names_its_service_and_request_in_either_format():
    out = io.StringIO()
    for log_format in ("json", "text"):
        handler = logs.handler("ledger", Settings(log_format=log_format), request_id=lambda: "abc123")
        handler.setStream(out)
        logger = logging.getLogger(f"test.logs.{log_format}")
        logger.addHandler(handler)
        logger.propagate = False
        logger.warning("settled %d trades", 3, extra={"symbol": "KRYP"})
        logger.removeHandler(handler)
    json_line, text_line = out.getvalue().splitlines()
    record = json.loads(json_line)
    assert {k: record[k] for k in ("level", "logger", "message", "service", "request_id", "symbol")} == {
        "level": "WARNING", "logger": "test.logs.json", "message": "settled 3 trades", "service": "ledger",
        "request_id": "abc123", "symbol": "KRYP"}
    assert record["time"]
    assert re.fullmatch(r"\S+ \S+ ledger test\.logs\.text WARNING settled 3 trades", text_line)


def test_the_log_settings_are_checked():
    assert Settings.from_env({}).log_format == "json"
    assert Settings.from_env({"LOG_FORMAT": "TEXT", "LOG_LEVEL": "debug"}).log_format == "text"
    assert Settings.from_env({"LOG_LEVEL": "debug"}).log_level == "DEBUG"
    with pytest.raises(SystemExit, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"})


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=1, web_replicas=1) as running:  # every kind of process
        yield running


def test_one_request_id_in_nginx_the_api_and_the_answer(stack):
    user = requests.post(f"{stack.base_url}/api/v1/users", json={"username": "logged", "password": "correct horse"},
                         timeout=10).json()
    placed = requests.post(f"{stack.base_url}/api/v1/orders", timeout=10,
                           headers={"Authorization": f"Bearer {user['token']}"},
                           json={"symbol": "KRYP", "side": "buy", "price": "5.00", "quantity": 1})
    assert placed.status_code == 201
    request_id = placed.headers["X-Request-Id"]
    assert REQUEST_ID.fullmatch(request_id)  # nginx's $request_id

    def logged_by(proc) -> list[dict]:
        return [r for r in records(proc.log()) if r.get("request_id") == request_id]

    at_nginx = wait_for(lambda: logged_by(stack.nginx), "nginx never logged the request")  # flushed each second
    assert [(r["method"], r["path"], r["status"]) for r in at_nginx] == [("POST", "/api/v1/orders", 201)]
    at_api = wait_for(lambda: logged_by(stack.replicas[0]), "the API never logged the request")
    assert [(r["service"], r["method"], r["path"], r["status"]) for r in at_api] == [
        ("orderbook", "POST", "/api/v1/orders", 201)]
    assert at_api[0]["duration_ms"] >= 0


def test_every_process_logs_json_lines(stack):
    for proc in (stack.replicas[0], *stack.workers, *stack.web):
        lines = [line for line in proc.log().splitlines() if line.strip()]
        assert lines, f"{proc.name} logged nothing"
        assert all(line.startswith("{") for line in lines), (proc.name, [l for l in lines if not l.startswith("{")])
        services = {r["service"] for r in records(proc.log())}
        assert services and len(services) == 1, (proc.name, services)


def test_a_request_straight_to_a_replica_gets_an_id_of_its_own(stack):
    replica = stack.replicas[0]
    answered = requests.get(f"http://127.0.0.1:{replica.port}/api/v1/healthz", timeout=10,
                            headers={"X-Request-Id": "not an id!"})
    assert REQUEST_ID.fullmatch(answered.headers["X-Request-Id"])
    kept = requests.get(f"http://127.0.0.1:{replica.port}/api/v1/healthz", timeout=10,
                        headers={"X-Request-Id": "trace-42"})
    assert kept.headers["X-Request-Id"] == "trace-42"
