"""Start and stop real server processes on free ports (used by tests and benchmarks)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack import binaries

ROOT = Path(__file__).resolve().parent.parent


_handed_out: set[int] = set()  # ports this process chose: the kernel may offer one again before it is bound


def free_port() -> int:
    """A port nothing listens on, never one this process chose before (a stack picks several
    before starting the servers that bind them)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


class Proc:
    """A child process with its log in a file; stop() is idempotent."""

    def __init__(self, args: list[str], *, port: int | None = None, env: dict | None = None,
                 log_dir: Path | None = None, name: str = "proc", cwd: Path = ROOT):
        self.name = name
        self.port = port
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix=f"{name}-"))
        self.log_path = self.log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")
        full_env = {**os.environ, **(env or {})}
        full_env.setdefault("PYTHONPATH", str(ROOT))
        self.popen = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=cwd,
                                      start_new_session=True)
        if port is not None:
            try:
                wait_for_port(port, proc=self.popen)
            except Exception:
                self.stop()
                raise RuntimeError(f"{name} failed to start:\n{self.log()}") from None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
            except ProcessLookupError:
                pass
        self._log.close()


def start_redis(data_dir: Path | None = None, *, appendonly: bool = False) -> Proc:
    port = free_port()
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="redis-"))
    args = [binaries.redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes" if appendonly else "no", "--dir", str(data_dir)]
    return Proc(args, port=port, log_dir=data_dir, name="redis")


CLUSTER_BUS_OFFSET = 10_000  # a cluster node's bus listens on its port + this


def cluster_port() -> int:
    """A free port whose cluster bus port is free too."""
    while True:
        port = free_port()
        if port + CLUSTER_BUS_OFFSET <= 65_535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + CLUSTER_BUS_OFFSET))
                except OSError:
                    continue
            _handed_out.add(port + CLUSTER_BUS_OFFSET)
            return port


def cluster_node_command(port: int, data_dir: Path, *, appendonly: bool) -> list[str]:
    return [binaries.redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
            "--cluster-config-file", str(data_dir / "nodes.conf"), "--cluster-node-timeout", "2000",
            "--save", "", "--appendonly", "yes" if appendonly else "no", "--dir", str(data_dir)]


def start_redis_cluster(data_dir: Path, primaries: int = 3, *, appendonly: bool = False) -> list[Proc]:
    """``primaries`` cluster-enabled redis-servers made one cluster by ``redis-cli --cluster create``
    (no replicas), each with its data in ``data_dir/<port>``; returns once every slot is served."""
    nodes = []
    for _ in range(primaries):
        port = cluster_port()
        (data_dir / str(port)).mkdir(parents=True)
        nodes.append(Proc(cluster_node_command(port, data_dir / str(port), appendonly=appendonly), port=port,
                          log_dir=data_dir / str(port), name=f"redis-{port}"))
    create_cluster([node.port for node in nodes], replicas=0)
    return nodes


def create_cluster(ports: list[int], replicas: int, timeout_s: float = 60.0) -> None:
    """``redis-cli --cluster create`` over the nodes at ``ports`` (``replicas`` per primary), then
    wait until every one serves every slot."""
    created = subprocess.run([binaries.redis_cli(), "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                              "--cluster-replicas", str(replicas), "--cluster-yes"], capture_output=True, text=True,
                             timeout=timeout_s)
    if created.returncode != 0:
        raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-2000:]}{created.stderr[-2000:]}")
    wait_cluster_ok(ports, timeout_s)


def wait_cluster_ok(ports: list[int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(cluster_ok(port) for port in ports):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster did not serve every slot within {timeout_s:.0f} s")
        time.sleep(0.1)


def cluster_info(port: int) -> dict[str, str]:
    """CLUSTER INFO of the node at ``port``, field by field."""
    info = subprocess.run([binaries.redis_cli(), "-p", str(port), "cluster", "info"], capture_output=True,
                          text=True, timeout=10).stdout
    return dict(line.split(":", 1) for line in info.split() if ":" in line)


def cluster_ok(port: int) -> bool:
    """Whether the node at ``port`` serves every slot of its cluster (``cluster_state:ok``)."""
    return cluster_info(port).get("cluster_state") == "ok"


def start_mongo(data_dir: Path | None = None) -> Proc:
    port = free_port()
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="secantus-"))
    args = [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(data_dir / "db"), "--log-level", "WARNING"]
    return Proc(args, port=port, log_dir=data_dir, name="secantus")


def python_module(module: str, *args: str, env: dict | None = None, port: int | None = None,
                  name: str | None = None) -> Proc:
    return Proc([sys.executable, "-m", module, *args], env=env, port=port, name=name or module)

