"""A real exchange on free ports, for tests and benchmarks.

    with start_stack(replicas=2) as stack:
        requests.get(stack.base_url + "/api/v1/healthz")

Starts redis-server and SecantusDB (unless URLs are given), N API
replicas (orderbook/serve.py), the matching and ledger workers (devstack.programs.WORKERS), M web (Socket.IO) replicas when asked
(``web_replicas=2``; none by default) and nginx, with the same command lines and the same rendered nginx
config as `make up` (devstack.programs, devstack.nginx). Each process runs in
its own session with its log under the stack's temp dir; stop() ends them
all and removes the dir.
"""
from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack import nginx, programs
from devstack.procs import Proc, free_port, start_mongo, start_redis, start_redis_cluster

# Signs the tokens of tests that build the API in-process; a started stack gets a random key.
TEST_SECRET_KEY = "test-only-secret-key-of-at-least-32-bytes"


@dataclass
class Stack:
    base_url: str
    redis_url: str
    mongo_url: str
    work_dir: Path
    replicas: list[Proc] = field(default_factory=list)
    child_env: dict = field(default_factory=dict)  # the environment every process was started with
    web: list[Proc] = field(default_factory=list)  # web replica n is web[n - 1], its cookie says n
    workers: list[Proc] = field(default_factory=list)
    servers: list[Proc] = field(default_factory=list)  # redis and SecantusDB, when started here
    nginx: Proc | None = None
    metrics: dict[str, int] = field(default_factory=dict)  # process name -> its /metrics port

    @property
    def procs(self) -> list[Proc]:
        """Every process, in the order they are stopped: front door first, data last."""
        return [*([self.nginx] if self.nginx else []), *self.web, *self.workers, *self.replicas, *self.servers]

    def logs(self) -> str:
        return "\n".join(f"--- {proc.name} ---\n{proc.log()}" for proc in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def wait_until_healthy(url: str, proc: Proc, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log()}")
        try:
            with requests.get(url, timeout=2) as response:
                if response.status_code == 200:
                    return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout}s:\n{proc.log()}")


def start_web(number: int, port: int, env: dict, log_dir: Path) -> Proc:
    """Web replica ``number`` on ``port`` (the same command line as `make up`), once healthy. It
    checks tokens signed with ``env``'s SECRET_KEY, else the in-process tests' key."""
    env = {"SECRET_KEY": TEST_SECRET_KEY, **env}
    proc = Proc(programs.web_command(port, number), port=port, env=env, log_dir=log_dir, name=f"web-{number}")
    wait_until_healthy(f"http://127.0.0.1:{port}{programs.WEB_HEALTHZ_PATH}", proc)
    return proc


def _start_stores(stack: Stack, redis_cluster: int) -> None:
    """redis-server (or a cluster of ``redis_cluster`` primaries) and SecantusDB, unless the
    stack was given their URLs."""
    if redis_cluster:
        stack.servers.extend(start_redis_cluster(stack.work_dir / "redis", redis_cluster, appendonly=True))
        stack.redis_url = programs.redis_url(stack.servers[-1].port)
    elif not stack.redis_url:
        stack.servers.append(start_redis(stack.work_dir / "redis"))
        stack.redis_url = programs.redis_url(stack.servers[-1].port)
    if not stack.mongo_url:
        stack.servers.append(start_mongo(stack.work_dir / "mongo"))
        stack.mongo_url = programs.mongo_url(stack.servers[-1].port)


def _chosen_workers(workers: bool | tuple[str, ...], matchers: int) -> list[tuple[str, str]]:
    """(name, module) of the workers asked for; "matcher" asks for every matcher replica."""
    if not workers:
        return []
    return [(name, module) for name, module in programs.worker_programs(matchers)
            if workers is True or name in workers or name.split("-")[0] in workers]


def _child_env(stack: Stack, port: int, redis_cluster: int, env: dict) -> dict:
    """Every process's environment. Tests register users by the dozen from one address and place
    orders faster than any person, at whatever prices they need: no registration or order-rate
    limit, price band or circuit breaker unless ``env`` sets one (the chaos run, devstack/chaos,
    keeps `make up`'s)."""
    return {"REDIS_URL": stack.redis_url, "MONGO_URL": stack.mongo_url, "EXCHANGE_DATA_DIR": str(stack.work_dir),
            "EXCHANGE_PORT": str(port), "SECRET_KEY": secrets.token_urlsafe(48), "PYTHONUNBUFFERED": "1",
            "REGISTRATION_RATE_LIMIT": "", "ORDER_RATE_LIMIT": "", "PRICE_BAND_BPS": "", "HALT_MOVE_BPS": "",
            **({"REDIS_CLUSTER": "1"} if redis_cluster else {}), **env}


def start_stack(replicas: int = 2, *, workers: bool | tuple[str, ...] = True, env: dict | None = None,
                redis_url: str | None = None, mongo_url: str | None = None, web_replicas: int = 0,
                matchers: int = 1, redis_cluster: int = 0) -> Stack:
    """Start a whole stack; ``env`` is added to every process's environment. ``workers``:
    all of them, none, or only those named (for example ``("matcher",)``); ``matchers``
    matcher processes ("matcher", or "matcher-1".."matcher-N"); ``redis_cluster``: that many
    primaries of a Redis Cluster instead of one redis-server (REDIS_CLUSTER=1)."""
    work_dir = Path(tempfile.mkdtemp(prefix="exchange-stack-"))
    logs = work_dir / "logs"
    for path in (logs, work_dir / "redis", work_dir / "mongo"):
        path.mkdir()
    port = free_port()
    stack = Stack(base_url=f"http://127.0.0.1:{port}", redis_url=redis_url or "", mongo_url=mongo_url or "",
                  work_dir=work_dir)
    try:
        _start_stores(stack, redis_cluster)
        stack.child_env = child_env = _child_env(stack, port, redis_cluster, env or {})

        def with_metrics(name: str) -> dict:
            """The stack's environment and a /metrics port of this process's own, as `make up` gives."""
            stack.metrics[name] = free_port()
            return {**child_env, "METRICS_PORT": str(stack.metrics[name])}

        for number in range(1, replicas + 1):
            replica_port = free_port()
            stack.replicas.append(Proc(programs.orderbook_command(replica_port), port=replica_port,
                                       env=with_metrics(f"orderbook-{number}"), log_dir=logs,
                                       name=f"orderbook-{number}"))
        for replica in stack.replicas:
            wait_until_healthy(f"http://127.0.0.1:{replica.port}{programs.HEALTHZ_PATH}", replica)

        for name, module in _chosen_workers(workers, matchers):
            stack.workers.append(Proc(programs.worker_command(module), env=with_metrics(name), log_dir=logs,
                                      name=name))

        for number in range(1, web_replicas + 1):
            stack.web.append(start_web(number, free_port(), with_metrics(f"web-{number}"), logs))

        conf = nginx.write_conf(work_dir / "nginx", listen=f"127.0.0.1:{port}",
                                orderbook=[f"127.0.0.1:{replica.port}" for replica in stack.replicas],
                                web=[f"127.0.0.1:{web.port}" for web in stack.web])
        stack.nginx = Proc(nginx.command(conf), port=port, log_dir=logs, name="nginx")
    except BaseException:
        stack.stop()
        raise
    return stack
