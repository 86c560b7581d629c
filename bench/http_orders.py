"""Order entry through nginx: orders/s and p50/p99 latency for a crossing flow.

Beside it, in the same run, the same measurement of a minimal Flask JSON
endpoint doing one Redis call, served the same way (same gunicorn settings and
replica count behind the same nginx template). Targets: >= 0.5 x that ceiling,
p99 < 50 ms.

    python bench/http_orders.py [--seconds 10] [--connections 16] [--replicas 2]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import common  # noqa: F401  (puts the project on sys.path)
import requests

from devstack import nginx, programs
from devstack.procs import Proc, free_port, start_redis
from tests.stack import start_stack

BENCH_DIR = Path(__file__).resolve().parent
USERS = 15  # odd, so the rotation pairs different users on consecutive orders


def run_wrk(url: str, script: Path, seconds: float, connections: int, env: dict | None = None) -> dict:
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("wrk is not installed: sudo apt-get install -y wrk")
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True).stdout
    def latency_ms(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": latency_ms("50"), "p99": latency_ms("99"),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "errors": int(errors.group(1)) if errors else 0}


def measure_orders(args) -> tuple[dict, dict]:
    env = {"STARTING_CASH": "100000000.00", "STARTING_SHARES": "100000000", "RATE_LIMIT": ""}
    with start_stack(replicas=args.replicas, env=env) as stack:
        tokens = []
        for i in range(USERS):
            resp = requests.post(f"{stack.base_url}/api/v1/users", json={"username": f"bench{i}", "password": "pw"})
            resp.raise_for_status()
            tokens.append(resp.json()["token"])
        result = run_wrk(stack.base_url, BENCH_DIR / "orders.lua", args.seconds, args.connections,
                         env={"TOKENS": ",".join(tokens)})
        ticker = requests.get(f"{stack.base_url}/api/v1/ticker/KRYP").json()
        return result, ticker


def measure_ceiling(args) -> dict:
    server = start_redis()
    work_dir = Path(tempfile.mkdtemp(prefix="bench-ping-"))
    env = {"REDIS_URL": programs.redis_url(server.port), "PYTHONPATH": str(programs.ROOT)}
    procs = [server]
    try:
        for number in range(args.replicas):
            port = free_port()
            command = programs.orderbook_command(port)
            command[-1] = "bench.ping_app:create_app()"
            replica = Proc(command, port=port, env=env, log_dir=work_dir, name=f"ping-{number}")
            procs.append(replica)
        listen_port = free_port()
        conf = nginx.write_conf(work_dir / "nginx", listen=f"127.0.0.1:{listen_port}",
                                orderbook=[f"127.0.0.1:{r.port}" for r in procs[1:]])
        front = Proc(nginx.command(conf), port=listen_port, log_dir=work_dir, name="nginx-ping")
        procs.append(front)
        url = f"http://127.0.0.1:{listen_port}"
        requests.post(f"{url}/api/v1/ping", json={}).raise_for_status()
        return run_wrk(url, BENCH_DIR / "ping.lua", args.seconds, args.connections)
    finally:
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    ceiling = measure_ceiling(args)
    orders, ticker = measure_orders(args)
    print(f"http orders: {orders['rps']:,.0f} orders/s, p50 {orders['p50']:.1f} ms, p99 {orders['p99']:.1f} ms "
          f"({orders['requests']:,} requests, {orders['errors']} non-2xx; last trade {ticker['last']}, "
          f"sequence {ticker['sequence']:,}) through nginx, {args.replicas} replicas, {args.connections} connections")
    print(f"baseline: {ceiling['rps']:,.0f} req/s, p50 {ceiling['p50']:.1f} ms, p99 {ceiling['p99']:.1f} ms "
          f"for a one-Redis-call Flask JSON endpoint served the same way ({ceiling['errors']} non-2xx)")
    ratio = orders["rps"] / ceiling["rps"]
    print(f"ratio: {ratio:.2f} x ceiling (target >= 0.5); p99 target < 50 ms: "
          f"{'met' if orders['p99'] < 50 else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
