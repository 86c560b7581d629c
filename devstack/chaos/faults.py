"""Doing one planned fault to the running stack.

- kill: SIGKILL to the program's process group; supervisord restarts it.
- pause: SIGSTOP to the group for longer than the lock or lease it may hold, then SIGCONT.
- redis-restart: supervisord stops Redis with SIGTERM (Redis writes and fsyncs its
  append-only file on the way down) and starts it again. Never kill -9: with
  appendfsync everysec that may lose the last second of writes.
- mongo-outage: supervisord stops the MongoDB server, and starts it after the hold.
- reconcile: `python -m ledger reconcile --grace-ms 0` in the background.
"""
from __future__ import annotations

import signal
import socket
import threading
import time
import xmlrpc.client
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlparse

from bots.runner.loop import STALE_CLAIM_MS
from devstack.chaos import schedule
from devstack.chaos.load import Children
from devstack.chaos.schedule import PlannedFault
from devstack.chaos.stack import ChaosStack
from exchange.config import Settings
from ticker.worker import FLUSHER_LEASE_S

LEDGER_LEASE_S = 3.0  # ledger/consumer.py and ledger/live_settlement.py: lease_ms=3000
PAUSE_MARGIN_S = 1.0  # a pause outlasts the lease by this much
PORT_WAIT_S = 60.0


@dataclass
class FaultResult:
    fault: PlannedFault
    started_s: float  # seconds after the load started
    detail: str
    done: bool = True  # False: the fault could not be done (its program was not running)


def pause_lengths(settings: Settings, api_replicas: list[str]) -> dict[str, float]:
    """How long to pause each program: past the lock or lease it may hold. Order entry
    matches under the symbol's lock itself when no matcher holds it."""
    lock_s = settings.lock_ttl_ms / 1000
    leases = {"matcher": lock_s, "ledger-worker": LEDGER_LEASE_S, "ticker": FLUSHER_LEASE_S,
              "bot-runner": STALE_CLAIM_MS / 1000, **{name: lock_s for name in api_replicas}}
    return {name: lease + PAUSE_MARGIN_S for name, lease in leases.items()}


def wait_for_port(url: str, timeout_s: float = PORT_WAIT_S) -> float:
    """Seconds until the server at ``url`` accepts connections again."""
    address = urlparse(url)
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            with socket.create_connection((address.hostname, address.port), timeout=1.0):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{address.hostname}:{address.port} did not come back in {timeout_s:.0f} s")


class Injector:
    def __init__(self, stack: ChaosStack, children: Children):
        self.stack = stack
        self.children = children

    def inject(self, fault: PlannedFault) -> str:
        """Do one fault; returns what was done, raises RuntimeError if it could not be."""
        if fault.kind == schedule.KILL:
            return self.kill(fault.target)
        if fault.kind == schedule.PAUSE:
            return self.pause(fault.target, fault.hold_s)
        if fault.kind == schedule.REDIS_RESTART:
            return self.restart("redis", self.stack.env["REDIS_URL"], hold_s=0.0)
        if fault.kind == schedule.MONGO_OUTAGE:
            return self.restart("mongo", self.stack.env["MONGO_URL"], hold_s=fault.hold_s)
        if fault.kind == schedule.RECONCILE:
            return f"pid {self.children.reconcile(self.stack.env).pid}"
        raise ValueError(f"unknown fault {fault.kind}")

    def kill(self, name: str) -> str:
        pid = self.stack.running_pid(name)
        self.stack.signal_group(pid, signal.SIGKILL)
        return f"pid {pid}"

    def pause(self, name: str, hold_s: float) -> str:
        pid = self.stack.running_pid(name)
        self.stack.signal_group(pid, signal.SIGSTOP)
        try:
            self.stack.stopping.wait(hold_s)
        finally:
            self.stack.signal_group(pid, signal.SIGCONT)
        return f"pid {pid} stopped for {hold_s:.1f} s"

    def restart(self, name: str, url: str, hold_s: float) -> str:
        """Stop a data store through supervisord (SIGTERM: a clean shutdown), keep it down
        for ``hold_s``, start it again and wait until it listens."""
        self.stack.running_pid(name)
        started = time.monotonic()
        self.stack.rpc().stopProcess(name, True)
        if self.stack.stopping.wait(hold_s):
            return "stopped; the run ended before its restart"
        self.stack.rpc().startProcess(name, True)
        wait_for_port(url)
        return f"down {time.monotonic() - started:.1f} s"


class FaultRunner:
    """Starts each planned fault at its moment, in a thread of its own, so faults on
    different programs overlap; faults in one lane (schedule.PlannedFault.lane) wait
    for each other."""

    def __init__(self, injector: Injector, report: Callable[[FaultResult], None]):
        self.injector = injector
        self.report = report  # called with each fault's result as it ends
        self.results: list[FaultResult] = []
        self._results_lock = threading.Lock()
        self._lane_locks: dict[str, threading.Lock] = {}

    def run(self, faults: list[PlannedFault], load_started: float, duration_s: float) -> list[FaultResult]:
        self._lane_locks = {fault.lane: threading.Lock() for fault in faults}
        threads = []
        for fault in faults:
            if self.injector.stack.stopping.wait(max(0.0, load_started + fault.at_s - time.monotonic())):
                break
            threads.append(threading.Thread(target=self._one, args=(fault, load_started, duration_s),
                                            name=f"fault-{fault.kind}", daemon=True))
            threads[-1].start()
        for thread in threads:
            thread.join()
        return sorted(self.results, key=lambda result: result.started_s)

    def _one(self, fault: PlannedFault, load_started: float, duration_s: float) -> None:
        with self._lane_locks[fault.lane]:
            at_s = time.monotonic() - load_started
            if at_s >= duration_s:
                result = FaultResult(fault, at_s, "not done: the load had ended", done=False)
            else:
                try:
                    result = FaultResult(fault, at_s, self.injector.inject(fault))
                except (RuntimeError, OSError, xmlrpc.client.Error) as error:
                    result = FaultResult(fault, at_s, f"not done: {error}", done=False)
        with self._results_lock:
            self.results.append(result)
        self.report(result)
