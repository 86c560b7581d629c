"""Helpers shared by the benchmarks: a fresh Redis, funded accounts, process fan-out, percentiles."""
from __future__ import annotations

import multiprocessing as mp
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RICH_CASH_CENTS = 10**12
RICH_SHARES = 10**9


def fund_accounts(client, user_ids: list[str], symbols: tuple[str, ...]) -> None:
    from ledger.accounts import Accounts

    accounts = Accounts(client)
    for user_id in user_ids:
        accounts.open(user_id, RICH_CASH_CENTS, {s: RICH_SHARES for s in symbols})


def run_processes(target, count: int, args: tuple, start_at: float | None = None) -> list:
    """Start ``count`` processes running target(index, start_at, queue, *args); gather one result each.
    ``start_at`` (epoch seconds) defaults to 2 s from now: every process starts its clock together,
    after its imports."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start_at = start_at or time.time() + 2.0
    procs = [ctx.Process(target=target, args=(i, start_at, queue, *args)) for i in range(count)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join()
    return results


def sleep_until(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def eval_loop(index: int, start_at: float, queue, redis_port: int, seconds: float) -> None:
    """The baseline: a trivial EVALSHA per round trip, as fast as one client can go."""
    import redis

    client = redis.Redis(port=redis_port)
    script = client.register_script("return 1")
    script()
    sleep_until(start_at)
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        script()
        done += 1
    queue.put(done)


def measure_eval_rate(redis_port: int, clients: int, seconds: float) -> float:
    counts = run_processes(eval_loop, clients, (redis_port, seconds))
    return sum(counts) / seconds


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants (gunicorn's workers, say)."""
    try:
        total = process_cpu_s(pid)
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:  # it exited: it uses no more
        return 0.0
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        total += sum(tree_cpu_s(int(child)) for child in children)
    return total


def group_cpu_s(cpu_of: dict) -> dict[str, float]:
    """CPU seconds used so far by each named group of processes ({name: [Proc]}, children included)."""
    return {name: sum(tree_cpu_s(proc.pid) for proc in procs) for name, procs in cpu_of.items()}


def cpu_us_per(cpu_of: dict, before: dict[str, float], count: int) -> dict[str, float]:
    """CPU µs each group used since ``before`` (group_cpu_s), per one of ``count`` things done."""
    now = group_cpu_s(cpu_of)
    return {name: 1e6 * (now[name] - before[name]) / max(count, 1) for name in cpu_of}


def cpu_line(run: dict) -> str:
    return ", ".join(f"{name} {us:,.0f} µs" for name, us in run["cpu_us"].items())


def redis_cpu_s(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(pct / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def cursor_sequence(client, symbol: str, cursor_key: str) -> int:
    """The journal sequence of the entry a consumer's cursor (a stream id) points at."""
    from exchange import keys

    entry_id = client.get(cursor_key)
    entries = client.xrange(keys.events(symbol), min=entry_id, max=entry_id) if entry_id else []
    return int(entries[0][1][b"sequence"]) if entries else 0


def lags(trades: list[tuple[int, int]], samples: list, column: int) -> list[float]:
    """ms from each trade's journal time to the first sample with the cursor at or past it."""
    out, i = [], 0
    for sequence, trade_ms in trades:
        while i < len(samples) and samples[i][column] < sequence:
            i += 1
        if i == len(samples):
            break
        out.append(max(0.0, samples[i][0] - trade_ms))
    return sorted(out)
