"""The command line of every process in the stack, shared by `make up` and the tests."""
from __future__ import annotations

import sys
from pathlib import Path

from devstack import binaries

ROOT = Path(__file__).resolve().parent.parent
HEALTHZ_PATH = "/api/v1/healthz"
WEB_HEALTHZ_PATH = "/healthz"

# Plain worker processes: (program name, module run with `python -m`).
WORKERS = (
    ("matcher", "orderbook.worker"),
    ("ledger-worker", "ledger.worker"),
    ("ticker", "ticker.worker"),
    ("bot-runner", "bots.runner"),
)


def worker_programs(matcher_replicas: int = 1) -> list[tuple[str, str]]:
    """WORKERS with the matcher run ``matcher_replicas`` times: "matcher" alone, else "matcher-1".."matcher-N"."""
    named = []
    for name, module in WORKERS:
        if name == "matcher" and matcher_replicas > 1:
            named += [(f"matcher-{number}", module) for number in range(1, matcher_replicas + 1)]
        else:
            named.append((name, module))
    return named


def redis_command(port: int, data_dir: Path) -> list[str]:
    """redis-server with the append-only file on: the live balances and books must survive a restart."""
    return [binaries.redis_server(), "--port", str(port), "--bind", "127.0.0.1",
            "--appendonly", "yes", "--dir", str(data_dir)]


def mongo_command(port: int, storage_path: Path) -> list[str]:
    """The embedded MongoDB-wire server, SecantusDB."""
    return [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(storage_path), "--log-level", "WARNING"]


def mongo_url(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def orderbook_command(port: int) -> list[str]:
    """One API replica (orderbook/serve.py)."""
    return [sys.executable, "-m", "orderbook.serve", "--host", "127.0.0.1", "--port", str(port)]


def web_command(port: int, replica: int, host: str = "127.0.0.1") -> list[str]:
    """One Flask-SocketIO replica; ``replica`` names it in the sticky-routing cookie."""
    return [sys.executable, "-m", "web.server", "--host", host, "--port", str(port), "--replica", str(replica)]


def worker_command(module: str) -> list[str]:
    return [sys.executable, "-m", module]
