"""Order entry through nginx: orders/s and p50/p99 latency, the order path alone and the whole stack.

The flow (random_orders.lua): random limit orders within 5 ticks of one price, on the 3 symbols,
from 64 users, over 32 connections, for 15 s. Measured three ways: the order path alone (API
replicas, the matcher, Redis), the whole stack with every limit off, and the whole stack as
`make up` runs it (rate limits, order rate, price band and breaker on, the web replicas
running, redis-server with make up's append-only file and snapshots).

Beside them, in the same run, the yardstick: a minimal Flask JSON endpoint doing one Redis call
(ping_app.py), served by 2 gunicorn gthread workers x 8 threads per replica (ping_gunicorn.py),
the same number of replicas behind the same nginx template. It stays fixed whatever serves the
API. Targets: >= 0.5 x the yardstick, p99 < 50 ms. Latency is also taken at a light load
(4 connections), since at saturation on two cores the run queue, not the service, sets the tail
(the yardstick's own p99 there is far above its p50).

    python bench/http_orders.py [--seconds 15] [--connections 32] [--replicas 2]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests
import results
from results import Figure

from common import cpu_line, cpu_us_per, cursor_sequence, group_cpu_s  # (importing common puts the project on sys.path)
from devstack import nginx, programs
from devstack.procs import Proc, free_port, start_redis
from exchange.config import Settings
from tests.stack import start_stack

BENCH_DIR = Path(__file__).resolve().parent
# Enough that at ~1,000 orders/s each user stays under the default ORDER_RATE_LIMIT (50/s): the run
# as `make up` has it measures the order path, not the per-user limit refusing a bench that no real
# user resembles. The flow has 64.
USERS = 64
FLOW = BENCH_DIR / "random_orders.lua"
YARDSTICK_CONF = BENCH_DIR / "ping_gunicorn.py"


def run_wrk(url: str, script: Path, seconds: float, connections: int, env: dict | None = None,
            cpu_of: dict[str, list[Proc]] | None = None) -> dict:
    """wrk's figures, and the CPU µs per request used by each named group of processes."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("wrk is not installed: sudo apt-get install -y wrk")
    cpu_of = cpu_of or {}
    cpu_before = group_cpu_s(cpu_of)
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True).stdout
    def latency_ms(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    cpu_us = cpu_us_per(cpu_of, cpu_before, requests_done)
    return {"cpu_us": cpu_us, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": latency_ms("50"), "p99": latency_ms("99"),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "errors": int(errors.group(1)) if errors else 0}


@contextmanager
def make_up_redis() -> Iterator[Proc]:
    """redis-server with `make up`'s command line (devstack/programs.py), on a free port."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    port = free_port()
    server = Proc(programs.redis_command(port, data_dir), port=port, log_dir=data_dir, name="redis")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def measure_orders(args, workers: bool | tuple[str, ...], light_load: bool = False,
                   as_make_up: bool = False, env: dict[str, str] | None = None) -> dict:
    """``as_make_up``: what `make up` has that the test stack changes: the request and order limits,
    price band and circuit breaker on, its web replicas, and redis-server with its command line
    (the append-only file, the snapshots); else every limit off and no web replica. ``env``: more
    settings."""
    defaults = Settings()
    env = {"STARTING_CASH": "100000000.00", "STARTING_SHARES": "100000000", **(env or {})}
    if as_make_up:
        env.update(PRICE_BAND_BPS=str(defaults.price_band_bps), HALT_MOVE_BPS=str(defaults.halt_move_bps),
                   ORDER_RATE_LIMIT=f"{defaults.order_rate.per_window}/second", RATE_LIMIT=defaults.rate_limit)
    else:
        env.update(RATE_LIMIT="", ORDER_RATE_LIMIT="")
    with ExitStack() as running:
        own_redis = [running.enter_context(make_up_redis())] if as_make_up else []
        stack = running.enter_context(start_stack(
            replicas=args.replicas, env=env, workers=workers, web_replicas=defaults.web_replicas if as_make_up else 0,
            redis_url=programs.redis_url(own_redis[0].port) if own_redis else None))
        tokens = []
        for i in range(USERS):
            resp = requests.post(f"{stack.base_url}/api/v1/users", json={"username": f"bench{i}",
                                                                        "password": "correct horse"})
            resp.raise_for_status()
            tokens.append(resp.json()["token"])
        wrk_env = {"TOKENS": ",".join(tokens), "SYMBOLS": ",".join(defaults.symbols)}
        cpu_of = {"api": stack.replicas, "workers": stack.workers, "web": stack.web,
                  "data": [*own_redis, *stack.servers], "nginx": [stack.nginx]}
        result = run_wrk(stack.base_url, FLOW, args.seconds, args.connections, env=wrk_env, cpu_of=cpu_of)
        if light_load:
            result["light"] = run_wrk(stack.base_url, FLOW, args.seconds, args.light_connections, env=wrk_env)
        if workers is True:
            behind = {name: cpu_of[name] for name in ("workers", "data")}  # what applies the backlog
            cpu_before = group_cpu_s(behind)
            result["record"] = record_catch_up(stack, defaults)
            result["record"]["cpu_us"] = cpu_us_per(behind, cpu_before, result["requests"])
        sequences = [requests.get(f"{stack.base_url}/api/v1/ticker/{symbol}").json()["sequence"]
                     for symbol in defaults.symbols]
        return {**result, "sequence": sum(sequences)}


def record_catch_up(stack, settings: Settings, limit_s: float = 120) -> dict:
    """How far the ledger of record (MongoDB) was behind the journals as the flow ended, and how long it
    then took to apply them: the flow's rate is one the stack sustains only if that stays short. Also
    how far the live accounts (Redis) were behind then."""
    import redis

    from exchange import keys, mongo

    client, db = redis.Redis.from_url(stack.redis_url), mongo.database(stack.mongo_url, settings.mongo_db)

    def behind() -> int:
        applied = {c["_id"]: c["sequence"] for c in db[mongo.CURSORS].find({"_id": {"$in": list(settings.symbols)}})}
        return sum(int(client.get(keys.seq(s)) or 0) - applied.get(s, 0) for s in settings.symbols)

    live_at_end = sum(int(client.get(keys.seq(s)) or 0) - cursor_sequence(client, s, keys.settled_cursor(s))
                      for s in settings.symbols)
    at_end, ended = behind(), time.monotonic()
    while (left := behind()) > 0 and time.monotonic() - ended < limit_s:
        time.sleep(0.1)
    client.close()
    return {"events_behind": at_end, "caught_up_s": time.monotonic() - ended, "still_behind": left,
            "live_accounts_behind": live_at_end}


def measure_ceiling(args, light_load: bool = True, command: Callable[[int], list[str]] | None = None) -> dict:
    """The yardstick; ``command`` serves the ping endpoint some other way (bench/servers.py)."""
    server = start_redis()
    work_dir = Path(tempfile.mkdtemp(prefix="bench-ping-"))
    env = {"REDIS_URL": programs.redis_url(server.port), "PYTHONPATH": str(programs.ROOT)}
    procs = [server]
    try:
        for number in range(args.replicas):
            port = free_port()
            replica = Proc((command or yardstick_command)(port), port=port, env=env, log_dir=work_dir, name=f"ping-{number}")
            procs.append(replica)
        listen_port = free_port()
        conf = nginx.write_conf(work_dir / "nginx", listen=f"127.0.0.1:{listen_port}",
                                orderbook=[f"127.0.0.1:{r.port}" for r in procs[1:]])
        front = Proc(nginx.command(conf), port=listen_port, log_dir=work_dir, name="nginx-ping")
        procs.append(front)
        url = f"http://127.0.0.1:{listen_port}"
        requests.post(f"{url}/api/v1/ping", json={}).raise_for_status()
        result = run_wrk(url, BENCH_DIR / "ping.lua", args.seconds, args.connections,
                         cpu_of={"api": procs[1:-1], "data": procs[:1], "nginx": [front]})
        if light_load:
            result["light"] = run_wrk(url, BENCH_DIR / "ping.lua", args.seconds, args.light_connections)
        return result
    finally:
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def yardstick_command(port: int) -> list[str]:
    """The ping endpoint under gunicorn's gthread worker, 2 x 8, whatever serves the API."""
    return [sys.executable, "-m", "gunicorn", "--config", str(YARDSTICK_CONF), "--bind", f"127.0.0.1:{port}",
            "--no-control-socket", "bench.ping_app:create_app()"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32, help="for throughput: enough to saturate")
    parser.add_argument("--light-connections", type=int, default=4, help="for latency: a load the machine carries")
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    with results.progress("http orders", 4) as step:
        ceiling = measure_ceiling(args)
        step("the ceiling measured")
        # The order path alone (API replicas, the matcher, Redis; MongoDB only for logins) is what
        # the targets are for; then the whole stack, whose settlement and candle workers share the cores.
        orders = measure_orders(args, ("matcher",), light_load=True)
        step("the order path measured")
        full = measure_orders(args, True)
        step("the whole stack measured")
        as_run = measure_orders(args, True, as_make_up=True)
        step("the stack as make up runs it measured")
    for label, run in (("http orders", orders), ("  whole stack (+ ledger, ticker, bot runner)", full),
                       ("  whole stack as make up runs it (limits, band, breaker, web replicas, redis AOF)", as_run)):
        print(f"{label}: {run['rps']:,.0f} orders/s ({run['rps'] / ceiling['rps']:.2f} x ceiling), "
              f"p50 {run['p50']:.1f} ms, p99 {run['p99']:.1f} ms ({run['requests']:,} requests, "
              f"{run['errors']} non-2xx; journal sequences {run['sequence']:,})")
        print("    CPU per order: " + cpu_line(run))
        if "record" in run:
            record = run["record"]
            applied = (f"applied {record['caught_up_s']:.1f} s later" if not record["still_behind"] else
                       f"still {record['still_behind']:,} behind {record['caught_up_s']:.0f} s later")
            print(f"    ledger of record at the flow's end: {record['events_behind']:,} journal events behind, "
                  f"{applied}, for a further " + cpu_line(record) + " per order; "
                  f"live accounts then {record['live_accounts_behind']:,} events behind")
    light = orders["light"]
    print(f"  at {args.light_connections} connections: {light['rps']:,.0f} orders/s, p50 {light['p50']:.1f} ms, "
          f"p99 {light['p99']:.1f} ms ({light['errors']} non-2xx)")
    print(f"  through nginx, {args.replicas} replicas, {args.connections} connections")
    print(f"baseline: {ceiling['rps']:,.0f} req/s, p50 {ceiling['p50']:.1f} ms, p99 {ceiling['p99']:.1f} ms "
          f"for a one-Redis-call Flask JSON endpoint served the same way ({ceiling['errors']} non-2xx)")
    print("    CPU per request: " + cpu_line(ceiling))
    print(f"  at {args.light_connections} connections: {ceiling['light']['rps']:,.0f} req/s, "
          f"p50 {ceiling['light']['p50']:.1f} ms, p99 {ceiling['light']['p99']:.1f} ms")
    ratio = orders["rps"] / ceiling["rps"]
    print(f"ratio: {ratio:.2f} x ceiling (target >= 0.5); p99 target < 50 ms: "
          f"{'met' if light['p99'] < 50 else 'NOT met'} at {args.light_connections} connections "
          f"({light['p99']:.1f} ms), {'met' if orders['p99'] < 50 else 'not met'} at {args.connections} "
          f"({orders['p99']:.1f} ms, saturated: the ceiling's own p99 there is {ceiling['p99']:.1f} ms)")
    save(args, ceiling, {"order path": orders, "whole stack": full, "as make up runs it": as_run})


def save(args, ceiling: dict, runs: dict[str, dict]) -> None:
    """The figures beside the ceiling, and the latencies, into bench/results/ (bench/results.py)."""
    figures = [Figure(label, run["rps"], "orders/s", "one-Redis-call endpoint", ceiling["rps"])
               for label, run in runs.items()]
    latencies = {f"{label}, {args.connections} conn": {"p50": run["p50"], "p99": run["p99"]}
                 for label, run in runs.items()}
    latencies[f"order path, {args.light_connections} conn"] = {k: runs["order path"]["light"][k] for k in ("p50", "p99")}
    latencies[f"ceiling, {args.connections} conn"] = {"p50": ceiling["p50"], "p99": ceiling["p99"]}
    results.save("http_orders", figures, latencies, notes={
        "cpu_us_per_request": {label: run["cpu_us"] for label, run in {**runs, "ceiling": ceiling}.items()},
        "errors": {label: run["errors"] for label, run in runs.items()}, "replicas": args.replicas,
        "ledger_of_record_at_the_end": {label: run["record"] for label, run in runs.items() if "record" in run}})


if __name__ == "__main__":
    sys.exit(main())
