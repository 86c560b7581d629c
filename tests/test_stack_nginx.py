"""The stack behind real nginx: health, load balancing, failover, and `make up`'s
own command (`python -m devstack up`) starting and stopping cleanly."""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from devstack import logprefix, nginx
from devstack.procs import free_port
from tests.stack import start_stack

ROOT = Path(__file__).resolve().parent.parent
HEALTHZ = "/api/v1/healthz"


def get(url: str) -> tuple[int, dict]:
    with requests.get(url, timeout=10) as response:
        return response.status_code, response.json()


def replica_serving(stack, body: dict) -> int:
    """Index of the replica whose worker process answered (healthz reports the worker's pid)."""
    master = psutil.Process(body["pid"]).ppid()
    return [replica.pid for replica in stack.replicas].index(master)


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=2) as running:
        yield running


def test_api_healthz_answers_through_nginx(stack):
    status, body = get(stack.base_url + HEALTHZ)
    assert status == 200
    assert body["status"] == "ok" and body["service"] == "orderbook"


def test_nginx_answers_its_own_healthz(stack):
    assert get(stack.base_url + "/healthz") == (200, {"status": "ok", "service": "nginx"})


def test_requests_are_spread_over_both_replicas(stack):
    served_by = set()
    for _ in range(20):
        status, body = get(stack.base_url + HEALTHZ)
        assert status == 200
        served_by.add(replica_serving(stack, body))
    assert served_by == {0, 1}


def test_a_killed_replica_is_skipped():
    with start_stack(replicas=2, workers=False) as stack:
        stack.replicas[0].kill(signal.SIGKILL)
        stack.replicas[0].popen.wait(10)
        for _ in range(20):
            status, body = get(stack.base_url + HEALTHZ)
            assert status == 200, stack.logs()
            assert replica_serving(stack, body) == 1
        # A refused connection means nothing was sent, so nginx retries even a POST.
        with requests.post(stack.base_url + "/api/v1/users", timeout=10,
                           json={"username": "after_failover", "password": "correct horse battery"}) as response:
            assert response.status_code == 201, response.text


def session_members(sid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return members


def wait_for_healthz(url: str, up: subprocess.Popen, output: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert up.poll() is None, f"devstack up exited with {up.returncode}:\n{output.read_text()[-4000:]}"
        try:
            if get(url)[0] == 200:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} not healthy after {timeout}s:\n{output.read_text()[-4000:]}")


def test_devstack_up_serves_through_nginx_and_sigterm_leaves_nothing(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "MONGO_URL")}
    env.update(EXCHANGE_DATA_DIR=str(tmp_path / "data"), EXCHANGE_PORT=str(port), ORDERBOOK_REPLICAS="2")
    output = tmp_path / "up.out"
    with open(output, "wb") as out:
        up = subprocess.Popen([sys.executable, "-m", "devstack", "up"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_healthz(f"http://127.0.0.1:{port}{HEALTHZ}", up, output, timeout=60)
        # Right after start-up every request is served: no replica is left marked down
        # because nginx tried it before it listened.
        base = f"http://127.0.0.1:{port}/api/v1"
        for i in range(6):
            created = requests.post(f"{base}/users", json={"username": f"early{i}", "password": "correct horse"},
                                    timeout=30)
            assert created.status_code == 201, created.text
        token = created.json()["token"]
        order = requests.post(f"{base}/orders", json={"symbol": "KRYP", "side": "buy", "price": "1.00", "quantity": 1},
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert order.status_code == 201 and order.json()["status"] == "new", order.text
        # Prometheus finds every process's /metrics in one file-based service-discovery file.
        groups = json.loads((tmp_path / "data" / "run" / "prometheus-targets.json").read_text())
        assert {group["labels"]["job"] for group in groups} == {
            "orderbook", "matcher", "ledger-worker", "ticker", "bot-runner", "web"}
        for target in (target for group in groups for target in group["targets"]):
            deadline = time.monotonic() + 30  # a worker may still be starting
            while True:
                try:
                    scraped = requests.get(f"http://{target}/metrics", timeout=10)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, f"{target} never served /metrics"
                    time.sleep(0.25)
            assert scraped.status_code == 200 and "exchange_" in scraped.text, target
        assert "prometheus-targets.json" in output.read_text()  # the banner says where
        children = psutil.Process(up.pid).children(recursive=True)
        assert len(children) >= 6  # log listener, redis, mongo, 2 replicas (+ workers), nginx
        assert list((tmp_path / "data" / "redis").glob("appendonly*"))  # AOF on (a dir in Redis 7, a file in 6)

        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
        assert [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE] == []
        assert session_members(up.pid) == []
        text = output.read_text()
        assert re.search(r"^orderbook-1 +\| ", text, re.MULTILINE), text[-4000:]
    finally:
        for leftover in session_members(up.pid):
            leftover.kill()
        if up.poll() is None:
            up.kill()
            up.wait()


def test_log_listener_prefixes_whole_lines():
    out = io.BytesIO()
    writer = logprefix.PrefixedWriter(out, width=6)
    writer.write(b"redis", b"ready\nhalf a ")
    writer.write(b"nginx", b"started\n")
    writer.write(b"redis", b"line\n")
    assert out.getvalue() == b"redis  | ready\nnginx  | started\nredis  | half a line\n"


def test_log_listener_speaks_the_supervisor_protocol():
    payload = b"processname:matcher groupname:matcher pid:7 channel:stdout\nmatched\n"
    header = b"ver:3.0 server:x serial:1 pool:logs poolserial:1 eventname:PROCESS_LOG_STDOUT len:%d\n" % len(payload)
    stdout, stderr = io.BytesIO(), io.BytesIO()
    logprefix.serve(io.BytesIO(header + payload), stdout, logprefix.PrefixedWriter(stderr, width=7))
    assert stderr.getvalue() == b"matcher | matched\n"
    assert stdout.getvalue() == b"READY\nRESULT 2\nOKREADY\n"


def test_nginx_template_has_no_placeholder_devstack_cannot_fill(tmp_path):
    text = nginx.render(listen="127.0.0.1:1", run_dir=tmp_path, orderbook=["127.0.0.1:2", "127.0.0.1:3"])
    assert "${" not in text
    assert "server 127.0.0.1:2 max_fails=0;" in text and "server 127.0.0.1:3 max_fails=0;" in text
