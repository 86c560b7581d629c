"""The engine benchmark's flow with one journal consumer under test (ledger or ticker worker).

Used by settlement.py and candles.py: fresh Redis and SecantusDB, funded
submitters, a standing matcher, the worker under test, and a monitor that
samples the worker's position(s) in the journal every 20 ms.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from common import fund_accounts, run_processes

SYMBOL = "KRYP"


class EngineFlow:
    def __init__(self, submitters: int, worker_module: str, extra_env: dict | None = None,
                 extra_workers: tuple[str, ...] = ()):
        import redis

        from devstack.procs import python_module, start_mongo, start_redis
        from exchange import mongo

        self.submitters = submitters
        self.worker_module = worker_module
        self._python_module = python_module
        redis_server, mongo_server = start_redis(), start_mongo()
        self.procs = [redis_server, mongo_server]
        self.redis_port = redis_server.port
        self.env = {"REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0", "SYMBOLS": SYMBOL,
                    "MONGO_URL": f"mongodb://127.0.0.1:{mongo_server.port}/?directConnection=true",
                    **(extra_env or {})}
        self.client = redis.Redis(port=redis_server.port)
        self.db = mongo.database(self.env["MONGO_URL"], "exchange")
        fund_accounts(self.client, [f"bench-{i}" for i in range(submitters)], (SYMBOL,))
        self.procs.append(python_module("orderbook.worker", env=self.env))
        self.procs += [python_module(module, env=self.env) for module in extra_workers]
        self.worker = self._start_worker()

    def _start_worker(self):
        worker = self._python_module(self.worker_module, env=self.env)
        self.procs.append(worker)
        return worker

    def end_sequence(self) -> int:
        from exchange import keys

        return int(self.client.get(keys.seq(SYMBOL)))

    def journal(self) -> list:
        """The symbol's journal events (``exchange.journal`` classes), oldest first."""
        from exchange import journal, keys

        return [event for _id, event in journal.read_entries(self.client.xrange(keys.events(SYMBOL)))]

    def trades(self) -> list:
        """The journal's trade events, oldest first."""
        from exchange import journal

        return [event for event in self.journal() if isinstance(event, journal.TradeEvent)]

    def run_load(self, seconds: float, seed: int) -> int:
        """The engine flow for ``seconds``; returns orders placed."""
        import engine

        results = run_processes(engine.submitter, self.submitters, (self.redis_port, seconds, seed))
        return sum(r["limit"] + r["market"] + r["cancel"] for r in results)

    def measure(self, seconds: float, positions: Callable[[], tuple[int, ...]]) -> tuple[int, list, list]:
        """Run the load while sampling (time ms, *positions()); wait until every position reaches
        the journal's end. Returns (orders, samples, [(sequence, time ms) of each trade])."""
        stop, samples = threading.Event(), []

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.time() * 1000, *positions()))
                time.sleep(0.02)

        monitor = threading.Thread(target=sample)
        monitor.start()
        orders = self.run_load(seconds, seed=1)
        end, deadline = self.end_sequence(), time.time() + 120
        while min(samples[-1][1:]) < end and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        monitor.join()
        trades = [(e.sequence, e.time) for e in self.trades()]
        return orders, samples, trades

    def backlog_capacity(self, seconds: float, position: Callable[[], int]) -> tuple[int, int, float]:
        """Stop the worker, build a backlog, time a fresh worker clearing it: (trades, events, seconds)."""
        self.worker.stop()
        self.run_load(seconds, seed=2)
        start_at, end = position(), self.end_sequence()
        trades = sum(e.sequence > start_at for e in self.trades())
        started = time.time()
        self.worker = self._start_worker()
        while position() < end and time.time() - started < 300:
            time.sleep(0.02)
        return trades, end - start_at, time.time() - started

    def close(self) -> None:
        from exchange import mongo

        mongo.close_all()
        for proc in reversed(self.procs):
            proc.stop()
