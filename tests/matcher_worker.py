"""A matcher process for the concurrency tests: optionally submits commands, then drains until done.

    python tests/matcher_worker.py --port P --symbol S [--submit FILE --submitters N]
        [--lock-ttl-ms MS] [--batch N] [--die-on-batch N] [--pause-p P --pause-ms MS]

Steps: connect; with ``--barrier``, wait until the test says go; submit the commands of FILE (one encoded command per line) in
small random chunks, draining after each chunk, then count itself done in
``test:{S}:submitted``; drain until every submitter is done and nothing is
pending; print its counters as one JSON line. ``--die-on-batch N`` SIGKILLs the
process between matching and committing its Nth batch; ``--pause-*`` sleeps
there at random so locks expire under contention.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
import redis  # noqa: E402

from exchange import keys  # noqa: E402
from orderbook.matcher import SymbolMatcher  # noqa: E402


def submitted_key(symbol: str) -> str:
    return f"test:{{{symbol}}}:submitted"


def ready_key(symbol: str) -> str:
    return f"test:{{{symbol}}}:ready"


def go_key(symbol: str) -> str:
    return f"test:{{{symbol}}}:go"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--submit", help="file of encoded commands to add to the inbox first")
    parser.add_argument("--submitters", type=int, default=0, help="processes that submit; wait for all")
    parser.add_argument("--lock-ttl-ms", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--die-on-batch", type=int, default=0)
    parser.add_argument("--pause-p", type=float, default=0.0)
    parser.add_argument("--pause-ms", type=float, default=0.0)
    parser.add_argument("--barrier", action="store_true", help="count in as ready, start when go is set")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout-s", type=float, default=90.0)
    return parser.parse_args(argv)


class Worker:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.rng = random.Random(args.seed)
        self.client = redis.Redis(port=args.port)
        self.batches_begun = 0
        self.matcher = SymbolMatcher(self.client, args.symbol, lock_ttl_ms=args.lock_ttl_ms,
                                     batch_max_commands=args.batch, before_commit=self.before_commit)
        self.drains = 0
        self.drained = 0
        self.submitted = 0

    def before_commit(self) -> None:
        self.batches_begun += 1
        if self.batches_begun == self.args.die_on_batch:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.args.pause_p and self.rng.random() < self.args.pause_p:
            time.sleep(self.rng.uniform(0, self.args.pause_ms) / 1000)

    def drain_once(self) -> None:
        self.drains += 1
        if self.matcher.drain().held:
            self.drained += 1
        else:
            time.sleep(self.rng.uniform(0.001, 0.005))  # someone else holds the lock

    def submit(self, path: str) -> None:
        lines = Path(path).read_bytes().splitlines()
        inbox = keys.inbox(self.args.symbol)
        while self.submitted < len(lines):
            chunk = lines[self.submitted:self.submitted + self.rng.randint(1, 20)]
            pipe = self.client.pipeline(transaction=False)
            for line in chunk:
                pipe.xadd(inbox, {"c": line})
            pipe.execute()
            self.submitted += len(chunk)
            self.drain_once()
        self.client.incr(submitted_key(self.args.symbol))

    def wait_for_go(self, deadline: float) -> None:
        """Start together with the other workers, so they really race."""
        self.client.incr(ready_key(self.args.symbol))
        while not self.client.exists(go_key(self.args.symbol)):
            if time.monotonic() > deadline:
                raise SystemExit("matcher_worker: never told to go")
            time.sleep(0.001)

    def finished(self) -> bool:
        if self.args.submitters:
            done = int(self.client.get(submitted_key(self.args.symbol)) or 0)
            if done < self.args.submitters:
                return False
        return not self.matcher.has_pending()

    def run(self) -> dict:
        deadline = time.monotonic() + self.args.timeout_s
        if self.args.barrier:
            self.wait_for_go(deadline)
        if self.args.submit:
            self.submit(self.args.submit)
        while not self.finished():
            if time.monotonic() > deadline:
                raise SystemExit("matcher_worker: timed out before the inbox was applied")
            self.drain_once()
        return {"pid": os.getpid(), "drains": self.drains, "drained": self.drained, "submitted": self.submitted,
                "batches": self.matcher.batches, "stale_commits": self.matcher.stale_commits}


def main(argv=None) -> None:
    stats = Worker(parse_args(argv)).run()
    sys.stdout.write(orjson.dumps(stats).decode() + "\n")


if __name__ == "__main__":
    main()
