"""gunicorn's gthread worker against granian's WSGI server, on the same app behind the same nginx.

Each server runs the orderbook API with the same processes and threads per replica
(API_WORKERS x API_THREADS, 2 x 8), the app writing an access record per request
(orderbook/serve.py's build_app). granian is what the API runs (orderbook/serve.py).
Measured, in one run, with bench/http_orders.py's flow and wrk: the one-Redis-call ping
endpoint, the order path (API replicas, matcher, Redis) and the whole stack as `make up`
runs it. The yardstick for every ratio is http_orders.py's: the ping endpoint served by
gunicorn gthread (2 workers x 8 threads) behind nginx, measured first.

    python bench/servers.py [--seconds 15] [--connections 32] [--replicas 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager

import http_orders
import results
from results import Figure

from common import cpu_line
from devstack import programs
from exchange.config import Settings
from orderbook import serve

GRANIAN = programs.orderbook_command  # what the API runs: orderbook/serve.py


def gunicorn_command(port: int) -> list[str]:
    """The same app, built and logged the same way (orderbook/serve.py's build_app), under gunicorn's
    gthread worker: a process per API worker, a thread per API thread."""
    settings = Settings.from_env()
    # Metrics as orderbook/serve.py keeps them: each worker's samples in files of a replica's own directory.
    return ["env", f"PROMETHEUS_MULTIPROC_DIR={tempfile.mkdtemp(prefix='exchange-metrics-')}",
            sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(settings.api_workers),
            "--threads", str(settings.api_threads), "--keep-alive", "75", "--bind", f"127.0.0.1:{port}",
            "--no-control-socket", f"orderbook.serve:build_app('{serve.APP}')"]


def granian_ping_command(port: int) -> list[str]:
    """The yardstick's ping endpoint under granian, as many processes and threads, an access line each."""
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "2", "--blocking-threads", "8", "--access-log", "--factory", "bench.ping_app:create_app"]


SERVERS: dict[str, Callable[..., list[str]]] = {"gunicorn gthread": gunicorn_command, "granian wsgi": GRANIAN}
PING: dict[str, Callable[[int], list[str]] | None] = {"gunicorn gthread": None, "granian wsgi": granian_ping_command}


@contextmanager
def serving(command: Callable[..., list[str]]):
    """Every API replica started in the block runs under ``command``."""
    programs.orderbook_command = command
    try:
        yield
    finally:
        programs.orderbook_command = GRANIAN


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    args.light_connections = 4
    runs: dict[str, dict] = {}
    with results.progress("servers", 3 * len(SERVERS)) as step:
        for name, command in SERVERS.items():
            with serving(command):
                runs[f"{name}: ping"] = http_orders.measure_ceiling(args, light_load=False, command=PING[name])
                step(f"{name}: ping")
                runs[f"{name}: order path"] = http_orders.measure_orders(args, ("matcher",))
                step(f"{name}: order path")
                runs[f"{name}: as make up runs it"] = http_orders.measure_orders(args, True, as_make_up=True)
                step(f"{name}: as make up runs it")
    yardstick = runs["gunicorn gthread: ping"]["rps"]
    print(f"yardstick: {yardstick:,.0f} req/s, the ping endpoint under gunicorn gthread, same run")
    for label, run in runs.items():
        unit = "req/s" if label.endswith("ping") else "orders/s"
        print(f"{label:45} {run['rps']:8,.0f} {unit:8} {run['rps'] / yardstick:5.2f} x   p50 {run['p50']:5.1f} ms  "
              f"p99 {run['p99']:6.1f} ms  {run['errors']} non-2xx | CPU µs: {cpu_line(run)}")
    results.save("servers", [Figure(label, run["rps"], "per s", "gunicorn ping", yardstick) for label, run in runs.items()],
                 {label: {"p50": run["p50"], "p99": run["p99"]} for label, run in runs.items()},
                 notes={"cpu_us_per_request": {label: run["cpu_us"] for label, run in runs.items()}})


if __name__ == "__main__":
    sys.exit(main())
