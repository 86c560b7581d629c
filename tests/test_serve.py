"""The API's server (orderbook/serve.py, granian) as the supervisor and nginx rely on it: SIGTERM lets a
request in flight finish and answer before the replica exits 0, and a worker that dies is replaced
while the replica goes on answering."""
from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest
import redis
import requests

from tests.polling import wait_for
from tests.stack import start_stack


@pytest.fixture
def stack():
    with start_stack(replicas=1, workers=False) as running:
        yield running


def worker_pids(pid: int) -> set[int]:
    return {child.pid for child in psutil.Process(pid).children()}


def test_sigterm_lets_a_request_in_flight_answer_then_the_replica_exits_0(stack):
    replica = stack.replicas[0]
    url = f"http://127.0.0.1:{replica.port}/api/v1/healthz"
    requests.get(url, timeout=10).raise_for_status()  # the replica answers
    with redis.Redis.from_url(stack.redis_url) as store:
        store.execute_command("CLIENT", "PAUSE", "3000", "ALL")  # so the request below waits inside the app
    answers: list[requests.Response] = []
    in_flight = threading.Thread(target=lambda: answers.append(requests.get(url, timeout=20)))
    in_flight.start()
    time.sleep(1.0)  # the request is in a worker, waiting on Redis
    # To the main process: it stops its workers gracefully. (A signal to the whole group can reach an
    # idle worker first, which granian then reports as an unexpected exit, status 1.)
    os.kill(replica.pid, signal.SIGTERM)
    in_flight.join(20)
    assert [answer.status_code for answer in answers] == [200]
    assert replica.popen.wait(15) == 0, replica.log()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_a_worker_that_dies_is_replaced(stack):
    replica = stack.replicas[0]
    url = f"http://127.0.0.1:{replica.port}/api/v1/healthz"
    workers = wait_for(lambda: worker_pids(replica.pid) if len(worker_pids(replica.pid)) == 2 else None,
                       "the replica never had its 2 workers")
    killed = min(workers)
    os.kill(killed, signal.SIGKILL)

    def replaced_set() -> set[int] | None:
        found = worker_pids(replica.pid)
        return found if len(found) == 2 and killed not in found else None

    replaced = wait_for(replaced_set, "the dead worker was not replaced", timeout=20)
    assert len(replaced - workers) == 1
    seen = {requests.get(url, timeout=10).json()["pid"] for _ in range(40)}
    assert seen <= replaced and seen, (seen, replaced)
    assert replica.popen.poll() is None
