"""``python -m ledger check|reconcile|recover|replay``; each exits 1 on a discrepancy (``recover``: see
ledger.recovery; ``replay``: every balance recomputed from the archived journal alone, MongoDB only)."""
from __future__ import annotations

import argparse
import sys
import time

import redis
from pymongo.errors import ConnectionFailure

from exchange import keys, mongo, redis_client
from exchange.config import Settings
from exchange.scripts import Scripts
from ledger.audit import check
from ledger.consumer import JournalConsumer
from ledger.live_settlement import SymbolSettler
from ledger.reconcile import ORPHAN_GRACE_MS, void_orphan_holds
from ledger.record import LedgerOfRecord
from ledger.recovery import RecoveryRefused, recover
from ledger.replay import replay


def catch_up(client: redis.Redis, settings: Settings, timeout_s: float = 60.0) -> list[str]:
    """Apply the whole journal to both stores (a running worker may do it; leases keep us apart)."""
    scripts = Scripts(client)
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    ledger = LedgerOfRecord(mongo.client(settings.mongo_url), db)
    settlers = [SymbolSettler(client, s, scripts) for s in settings.symbols]
    consumers = [JournalConsumer(client, s, ledger, "ledger-cli") for s in settings.symbols]
    deadline = time.monotonic() + timeout_s
    while True:
        for worker in (*settlers, *consumers):
            worker.run_once()
        lagging = []
        for symbol in settings.symbols:
            end = int(client.get(keys.seq(symbol)) or 0)
            last = client.xrevrange(keys.events(symbol), count=1)
            live = client.get(keys.settled_cursor(symbol))
            if last and live != last[0][0]:
                lagging.append(f"{symbol}: live accounts behind the journal")
            if ledger.applied_sequence(symbol) != end:
                lagging.append(f"{symbol}: ledger at {ledger.applied_sequence(symbol)} of {end}")
        halted = any(consumer.halted for consumer in consumers)  # check reports why; waiting is no use
        if not lagging or halted or time.monotonic() > deadline:
            for worker in (*settlers, *consumers):
                worker.stop()
            return lagging
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except redis_client.UNAVAILABLE + (ConnectionFailure,) as error:
        store = "MongoDB" if isinstance(error, ConnectionFailure) else "Redis"
        print(f"PROBLEM: cannot reach {store} ({error}); nothing was checked or repaired past this point")
        return 1


def run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger")
    parser.add_argument("command", choices=("check", "reconcile", "recover", "replay"),
                        help="recover: after Redis lost data, with every writer stopped (ledger/README.md); "
                             "replay: recompute every balance from the archive and compare (MongoDB only)")
    parser.add_argument("--grace-ms", type=int, default=ORPHAN_GRACE_MS,
                        help="reconcile: void a hold only if its order is older than this")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    client = redis_client.connect(settings)
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    if args.command == "replay":
        return print_report(replay(db, settings.symbols), "ledger replay")
    if args.command == "reconcile":
        for line in void_orphan_holds(client, settings, grace_ms=args.grace_ms):
            print(line)
    if args.command == "recover":
        try:
            for line in recover(client, settings, mongo.client(settings.mongo_url), db):
                print(line)
        except RecoveryRefused as refused:
            print(f"recover: {refused}")
            return 1
    lagging = catch_up(client, settings)
    report = check(client, db, settings.symbols)
    report.problems[:0] = lagging
    return print_report(report, "ledger check")


def print_report(report, name: str) -> int:
    for line in report.facts:
        print(line)
    for line in report.problems:
        print(f"PROBLEM: {line}")
    print(f"{name}: OK" if report.ok else f"{name}: {len(report.problems)} problem(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
