"""`python -m devstack up`: the whole exchange on one machine, in the foreground.

Renders nginx's and supervisord's configs under the data dir, then execs
`supervisord -n`, so Ctrl-C or SIGTERM reaches supervisord, which stops every
program with its process group. Ports: nginx listens on 127.0.0.1:EXCHANGE_PORT;
everything behind it (local Redis and MongoDB, each API replica) gets a free
port picked at start, printed in the banner and written to <data>/run/ports.json.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack import binaries, cluster, nginx, programs, supervisor
from devstack.config import StackConfig
from devstack.procs import free_port
from devstack.supervisor import Program

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Layout:
    """Where the stack keeps its state, all under the data dir."""
    data_dir: Path

    @property
    def run(self) -> Path:      # rendered configs, pid files, supervisor socket
        return self.data_dir / "run"

    @property
    def logs(self) -> Path:     # one log file per program
        return self.data_dir / "logs"

    @property
    def nginx(self) -> Path:    # nginx's prefix: its conf, pid and temp dirs
        return self.data_dir / "nginx"

    @property
    def redis(self) -> Path:    # the append-only file
        return self.data_dir / "redis"

    @property
    def mongo(self) -> Path:    # SecantusDB's storage
        return self.data_dir / "mongo"

    @property
    def secret_key(self) -> Path:  # signs bearer tokens when SECRET_KEY is not set
        return self.data_dir / "secret_key"

    def create(self) -> None:
        for path in (self.run, self.logs, self.nginx, self.redis, self.mongo):
            path.mkdir(parents=True, exist_ok=True)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def running_supervisord(pid_file: Path) -> int | None:
    """The pid of a supervisord still running from this data dir, if any."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if Path("/proc").is_dir() and "supervisord" not in command_line(pid):
        return None  # a stale pid file whose pid was reused
    return pid


def leftovers(layout: Layout) -> list[str]:
    """Servers of an earlier run whose supervisord was killed outright, found by
    the data-dir paths on their command lines (Linux only)."""
    if not Path("/proc").is_dir():
        return []
    markers = (f"--dir {layout.redis}", f"--storage-path {layout.mongo}", f"-p {layout.nginx}/")
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            line = command_line(int(entry.name))
            if any(marker in line for marker in markers):
                found.append(f"{entry.name}: {line.strip()}")
    return found


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def distinct_free_ports(count: int, taken: set[int]) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in taken and port not in ports:
            ports.append(port)
    return ports


def preflight(config: StackConfig, layout: Layout) -> None:
    binaries.nginx()  # exits with the apt-get line if nginx is missing
    if config.redis_url is None:
        binaries.redis_server()
    running = running_supervisord(layout.run / "supervisord.pid")
    if running:
        raise SystemExit(f"the stack is already running from {layout.data_dir} (supervisord pid {running})")
    stray = leftovers(layout)
    if stray:
        raise SystemExit("processes from an earlier run still use " + str(layout.data_dir)
                         + "; stop them first (kill PID):\n  " + "\n  ".join(stray))
    if not port_is_free(config.exchange_port):
        raise SystemExit(f"port {config.exchange_port} is in use; set EXCHANGE_PORT to another port")


def stack_secret(layout: Layout) -> str:
    """This data dir's token-signing key: random, made on first start, kept (mode 0600)
    so tokens survive a restart. Never the public default, which would let anyone
    sign a token for any user."""
    path = layout.secret_key
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def store_programs(config: StackConfig, layout: Layout, redis_port: int | None,
                   mongo_port: int | None) -> tuple[list[Program], list[int]]:
    """The local stores' programs: redis-server, or a cluster's nodes (and their ports), and SecantusDB."""
    stack: list[Program] = []
    cluster_ports: list[int] = []
    if config.redis_cluster_nodes:
        stack, cluster_ports = cluster.programs(layout.redis, layout.run / "redis-cluster.json",
                                                config.redis_cluster_nodes)
    if redis_port:
        stack.append(Program("redis", programs.redis_command(redis_port, layout.redis), priority=10))
    if mongo_port:
        stack.append(Program("mongo", programs.mongo_command(mongo_port, layout.mongo), priority=10))
    return stack, cluster_ports


def plan(config: StackConfig, layout: Layout) -> tuple[list[Program], dict[str, str], dict]:
    """The programs to run, the environment they share, and the ports chosen."""
    local = {"redis": config.redis_url is None and not config.redis_cluster_nodes, "mongo": config.mongo_url is None}
    workers = programs.worker_programs(config.matcher_replicas)
    count = sum(local.values()) + 2 * (config.orderbook_replicas + config.web_replicas) + len(workers)
    ports = iter(distinct_free_ports(count, {config.exchange_port}))
    redis_port = next(ports) if local["redis"] else None
    mongo_port = next(ports) if local["mongo"] else None
    replica_ports = [next(ports) for _ in range(config.orderbook_replicas)]
    web_ports = [next(ports) for _ in range(config.web_replicas)]
    backing = tuple(port for port in (redis_port, mongo_port) if port)
    metrics: dict[str, int] = {}  # program -> its /metrics port
    stack, cluster_ports = store_programs(config, layout, redis_port, mongo_port)
    seed = cluster_ports[0] if cluster_ports else None  # every program waits until it serves every slot

    def with_metrics(name: str) -> dict[str, str]:
        metrics[name] = next(ports)
        return {"METRICS_PORT": str(metrics[name])}

    for number, port in enumerate(replica_ports, start=1):
        stack.append(Program(f"orderbook-{number}", programs.orderbook_command(port),
                             priority=30, wait_for=backing, wait_for_cluster=seed,
                             env=with_metrics(f"orderbook-{number}")))
    for name, module in workers:
        stack.append(Program(name, programs.worker_command(module), priority=30, wait_for=backing,
                             wait_for_cluster=seed, env=with_metrics(name)))
    for number, port in enumerate(web_ports, start=1):
        # Redis only: the web tier never touches MongoDB.
        stack.append(Program(f"web-{number}", programs.web_command(port, number), priority=30,
                             wait_for=(redis_port,) if redis_port else (), wait_for_cluster=seed,
                             env=with_metrics(f"web-{number}")))
    conf = nginx.write_conf(layout.nginx, listen=f"127.0.0.1:{config.exchange_port}",
                            orderbook=[f"127.0.0.1:{port}" for port in replica_ports],
                            web=[f"127.0.0.1:{port}" for port in web_ports])
    nginx.check(conf)
    stack.append(Program("nginx", nginx.command(conf), priority=40))

    env = {
        "REDIS_URL": config.redis_url or programs.redis_url(redis_port or seed),
        **({"REDIS_CLUSTER": "1"} if seed else {}),
        "MONGO_URL": config.mongo_url or programs.mongo_url(mongo_port),
        "EXCHANGE_DATA_DIR": str(layout.data_dir),
        "EXCHANGE_PORT": str(config.exchange_port),
        "SECRET_KEY": config.secret_key or stack_secret(layout),
        "PYTHONUNBUFFERED": "1",
    }
    chosen = {"nginx": config.exchange_port, "redis": redis_port or seed, "mongo": mongo_port,
              "redis_cluster": cluster_ports, "orderbook": replica_ports, "web": web_ports, "metrics": metrics}
    return stack, env, chosen


def banner(config: StackConfig, layout: Layout, stack: list[Program], env: dict, chosen: dict) -> str:
    def shown(url: str) -> str:  # never print a password from a URL
        return re.sub(r"//[^/@]*@", "//***@", url)

    redis_where = f"local, append-only file in {layout.redis}" if chosen["redis"] else "REDIS_URL"
    if config.redis_cluster_nodes:
        redis_where = (f"local cluster of {config.redis_cluster_nodes} nodes, ports "
                       + ", ".join(str(port) for port in chosen["redis_cluster"])
                       + f"; append-only files in {layout.redis}/<port>")
    mongo_where = f"embedded SecantusDB, data in {layout.mongo}" if chosen["mongo"] else "MONGO_URL"
    names = ", ".join(program.name for program in stack)
    return "\n".join([
        f"exchange  http://127.0.0.1:{config.exchange_port}/  (API: /api/v1, health: /api/v1/healthz)",
        f"  redis      {shown(env['REDIS_URL'])}  ({redis_where})",
        f"  mongodb    {shown(env['MONGO_URL'])}  ({mongo_where})",
        "  orderbook  " + ", ".join(f"127.0.0.1:{port}" for port in chosen["orderbook"]),
        "  web        " + (", ".join(f"127.0.0.1:{port}" for port in chosen["web"]) or "none"),
        f"  programs   {names}",
        f"  logs       {layout.logs}/<program>.log",
        f"  metrics    {len(chosen['metrics'])} /metrics endpoints, listed for Prometheus in "
        f"{layout.run / 'prometheus-targets.json'}",
        f"  control    .venv/bin/supervisorctl -c {layout.run / 'supervisord.conf'} status",
        f"  ledger     REDIS_URL='{shown(env['REDIS_URL'])}' {'REDIS_CLUSTER=1 ' if 'REDIS_CLUSTER' in env else ''}"
        f"MONGO_URL='{shown(env['MONGO_URL'])}'"
        " .venv/bin/python -m ledger check",
        f"  bots       .venv/bin/python -m bots swarm --url http://127.0.0.1:{config.exchange_port} --duration 60",
        "Ctrl-C stops everything.",
        "",
    ])


def prepare(config: StackConfig, layout: Layout) -> tuple[Path, list[Program], dict[str, str], dict]:
    """Check the machine, plan the stack and write its configs; returns supervisord's
    config file and what ``plan`` chose. `make up` and `make chaos` both start here."""
    preflight(config, layout)
    layout.create()
    stack, env, chosen = plan(config, layout)
    conf = layout.run / "supervisord.conf"
    conf.write_text(supervisor.render(stack, run_dir=layout.run, log_dir=layout.logs))
    conf.chmod(0o600)  # it holds the control socket's password
    (layout.run / "ports.json").write_text(json.dumps(chosen, indent=2) + "\n")
    (layout.run / "prometheus-targets.json").write_text(json.dumps(prometheus_targets(chosen["metrics"]), indent=2)
                                                        + "\n")
    return conf, stack, env, chosen


def prometheus_targets(metrics: dict[str, int]) -> list[dict]:
    """Prometheus file-based service discovery: one group per job (orderbook-1 and -2 are one job)."""
    jobs: dict[str, list[str]] = {}
    for program, port in metrics.items():
        jobs.setdefault(re.sub(r"-\d+$", "", program), []).append(f"127.0.0.1:{port}")
    return [{"targets": targets, "labels": {"job": job}} for job, targets in jobs.items()]


def supervisord_command(conf: Path) -> list[str]:
    return [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(conf)]


def up(dry_run: bool = False) -> None:
    config = StackConfig.from_env()
    layout = Layout(config.data_dir)
    conf, stack, env, chosen = prepare(config, layout)
    print(banner(config, layout, stack, env, chosen), flush=True)
    if dry_run:
        print(f"dry run: configs written to {layout.run} and {layout.nginx}")
        return
    os.chdir(ROOT)
    os.execve(sys.executable, supervisord_command(conf), {**os.environ, **env})
