"""The one shape of every worker process: bootstrap, named loops, teardown.

    class CandleWorker(Worker):
        name = "ticker.worker"
        def bootstrap(self): ...           # connect, build what the loops need
        def loops(self): return {"candles": Loop(self.roll, idle_s=0.05)}
        def roll(self) -> int: ...         # one pass; returns how much it did (0: idle)
        def teardown(self): ...            # hand leases over at once
    run(CandleWorker())

``run`` sets up logging, turns SIGTERM and SIGINT into the worker's ``stopping``
event, calls ``bootstrap``, and runs each loop in a thread of its own (and one more,
the heartbeat: exchange/health.py): its work again and again, waiting ``idle_s``
after a pass that did nothing, or calling its ``wait_for_work`` then (a blocking
read of the journals it follows, ``streams.wait_past``), or ``every_s`` after each
pass; with ``busy_s``, a pass after one that worked starts no sooner than ``busy_s``
after that one started; until the event is set. Then ``teardown``. Work that raises one of its
loop's ``retry_on`` errors (a store outage, say) is logged and retried after
``retry_s`` (a Redis outage, ``redis_client.UNAVAILABLE``, as one line a try rather
than a traceback); any other error ends the process with exit status 1, so its
supervisor restarts it instead of it living on with a dead loop (teardown is skipped then: the leases it would release expire by themselves).
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from exchange import logs, metrics, redis_client
from exchange.config import Settings
from exchange.health import HEARTBEAT_S, Heartbeat

log = logging.getLogger("exchange.worker")
JOIN_TIMEOUT_S = 10.0
WORK_WAIT_S = 0.5  # the longest a Loop's wait_for_work blocks


@dataclass
class Loop:
    work: Callable[[], int]  # one pass of the loop's work; returns how much it did (0: idle)
    idle_s: float = 0.05  # the wait after a pass that did nothing
    # After a pass that did something, the next starts no sooner than this after it started: under
    # load a consumer makes fewer, larger batches (a pass's round trips and MongoDB calls cost the
    # same for 1 event or 500) for at most that much more lag. A pass that took longer than this,
    # a worker near its capacity, goes on at once: the pacing never costs throughput.
    busy_s: float = 0.0
    every_s: Callable[[], float] | None = None  # if set: the wait after every pass, whatever it did
    retry_on: tuple[type[BaseException], ...] = ()  # logged and retried; anything else ends the process
    retry_s: float = 1.0
    first_after_s: float = 0.0  # the wait before the first pass
    # If set: after a pass that did nothing, called in place of the idle wait; it returns once
    # there may be work again, or after at most WORK_WAIT_S (so a stop waits no longer than that).
    wait_for_work: Callable[[float], None] | None = None

    def pause_after(self, work: int, took_s: float) -> float:
        if self.every_s is not None:
            return self.every_s()
        return max(0.0, self.busy_s - took_s) if work else self.idle_s


class SymbolPasses:
    """A loop's passes over several symbols, one at a time: a symbol whose pass met an unavailable
    Redis node (or raised one of ``also_retry``) waits ``retry_s`` while the others go on. Each
    pass must be safe to run again (a cursor, or a per-account sequence, makes it count once)."""

    def __init__(self, what: str, also_retry: tuple[type[Exception], ...] = (), retry_s: float = 1.0):
        self.what, self.also_retry, self.retry_s = what, also_retry, retry_s
        self.paused_until: dict[str, float] = {}  # symbol -> when its pass is tried again

    def paused(self, symbol: str) -> bool:
        """Whether the symbol's pass waits out a failure (its work is not work until then)."""
        return self.paused_until.get(symbol, 0.0) > time.monotonic()

    def run(self, passes: Iterable[tuple[str, Callable[[], int]]]) -> int:
        """Each (symbol, pass) not paused; returns the work done."""
        work, now = 0, time.monotonic()
        for symbol, one_pass in passes:
            if self.paused_until.get(symbol, 0.0) > now:
                continue
            try:
                work += one_pass()
            except redis_client.UNAVAILABLE as error:  # its node, or one its pass touches, is away: a line a try
                log.warning("%s of %s: Redis unavailable (%s); retrying in %.1f s", self.what, symbol, error,
                            self.retry_s)
                self.paused_until[symbol] = now + self.retry_s
            except self.also_retry:
                log.exception("%s of %s failed; retrying in %.1f s", self.what, symbol, self.retry_s)
                self.paused_until[symbol] = now + self.retry_s
        return work


class Worker:
    name = "worker"

    def __init__(self) -> None:
        self.stopping = threading.Event()

    def bootstrap(self) -> None:
        """Connect and build what the loops need (before any loop starts)."""

    def loops(self) -> dict[str, Loop]:
        raise NotImplementedError

    def teardown(self) -> None:
        """After every loop stopped: release what others should take over at once."""

    def stop(self, *_signal) -> None:
        self.stopping.set()


def repeat(name: str, loop: Loop, stopping: threading.Event, failed: threading.Event,
           last_pass: dict[str, float] | None = None) -> None:
    """Run one loop's work until ``stopping``; a failure it cannot retry stops every loop.
    ``last_pass[name]`` is when a pass last finished (the heartbeat reports it)."""
    stopping.wait(loop.first_after_s)
    while not stopping.is_set():
        try:
            started = time.monotonic()
            work = loop.work()
            if last_pass is not None:
                last_pass[name] = time.time()
        except loop.retry_on as error:
            if isinstance(error, redis_client.UNAVAILABLE):  # an outage it rides out: a line a try
                log.warning("%s: Redis unavailable (%s); retrying in %.1f s", name, error, loop.retry_s)
            else:
                log.exception("%s: pass failed; retrying in %.1f s", name, loop.retry_s)
            stopping.wait(loop.retry_s)
            continue
        except Exception as error:  # noqa: BLE001 - ends the process: its supervisor restarts it
            if stopping.is_set():  # another loop failed first and said why; this one only stops
                log.warning("%s: %s while stopping", name, error)
            else:
                log.exception("%s failed; exiting so that the supervisor restarts this worker", name)
            failed.set()
            stopping.set()
            return
        pause = loop.pause_after(work, time.monotonic() - started)
        if not work and loop.wait_for_work is not None and loop.every_s is None:
            loop.wait_for_work(WORK_WAIT_S)
        elif pause:
            stopping.wait(pause)


def heartbeat_loop(kind: str, last_pass: dict[str, float]) -> Loop:
    """Every worker's extra loop: a heartbeat a second, in Redis (exchange/health.py)."""
    heartbeat = Heartbeat(redis_client.connect(Settings.from_env()), kind, last_pass)
    return Loop(heartbeat.beat, every_s=lambda: HEARTBEAT_S,
                retry_on=redis_client.UNAVAILABLE)


def run(worker: Worker) -> None:
    """bootstrap, the loops (one thread each) until SIGTERM or SIGINT, teardown; then exit."""
    settings = Settings.from_env()
    logs.configure(worker.name, settings)
    metrics.serve(settings.metrics_port, settings.metrics_host)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.bootstrap()
    failed = threading.Event()
    last_pass: dict[str, float] = {}
    loops = {**worker.loops(), "heartbeat": heartbeat_loop(worker.name, last_pass)}
    threads = [threading.Thread(target=repeat, args=(name, loop, worker.stopping, failed, last_pass), name=name,
                                daemon=True)
               for name, loop in loops.items()]
    for thread in threads:
        thread.start()
    log.info("%s: running %s", worker.name, ", ".join(thread.name for thread in threads))
    worker.stopping.wait()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    if failed.is_set():  # most likely a store is gone: what teardown would release expires by itself
        log.error("%s: stopped after a failure (see above); exit 1", worker.name)
        sys.exit(1)
    worker.teardown()
    log.info("%s: stopped", worker.name)
    sys.exit(0)
