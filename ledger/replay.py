"""``python -m ledger replay``: every balance recomputed from the archive alone, beside the ledger of record.

A balance is what registration issued plus what every journal event did to it
(``postings.net_deltas``, the same pure code the ledger of record applies).
The replay reads each symbol's archived events (every epoch, oldest first) up
to the position the ledger of record has applied, and compares the result
with MongoDB's ``accounts``, field by field. An archive that does not reach the
ledger's position, or that starts after sequence 1, cannot prove anything and
says so.
"""
from __future__ import annotations

from collections import defaultdict
from typing import cast

from pymongo.database import Database

from exchange import mongo
from ledger.archive import archived_epochs, archived_events
from ledger.audit import Report
from ledger.postings import net_deltas


def issued_balances(db: Database) -> dict[str, dict[str, int]]:
    """{user_id: {account path: amount}} as registration issued them."""
    balances: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for doc in db[mongo.ACCOUNTS].find({"issued": {"$exists": True}}, {"issued": 1}):
        balances[doc["_id"]]["cash.available"] += doc["issued"]["cash"]
        for symbol, shares in doc["issued"]["shares"].items():
            balances[doc["_id"]][f"positions.{symbol}.available"] += shares
    return balances


def replay_symbol(db: Database, symbol: str, balances: dict, report: Report) -> None:
    """Add what the symbol's archived events did, up to the ledger of record's position."""
    at = db[mongo.CURSORS].find_one({"_id": symbol}) or {"sequence": 0, "epoch": None}
    applied, reached = 0, cast(tuple[int | None, int], (None, 0))  # (epoch, sequence) applied so far
    for epoch in archived_epochs(db, symbol):
        if at["epoch"] is not None and epoch > at["epoch"]:
            break  # the ledger of record has not reached this epoch
        for event in archived_events(db, symbol, epoch):
            if epoch == at["epoch"] and event.sequence > at["sequence"]:
                break
            if event.sequence != (reached[1] + 1 if reached[0] == epoch else 1):
                report.problems.append(f"{symbol}: the archive of epoch {epoch} goes from {reached} to "
                                       f"{event.sequence}: it cannot prove the balances")
                return
            reached, applied = (epoch, event.sequence), applied + 1
            for user_id, paths in net_deltas([event]).items():
                for path, delta in paths.items():
                    balances[user_id][path] += delta
    if at["sequence"] and reached != (at["epoch"], at["sequence"]):
        report.problems.append(f"{symbol}: the archive ends at {reached} (epoch, sequence), the ledger of record "
                               f"applied up to {(at['epoch'], at['sequence'])}: let the archive catch up")
    report.facts.append(f"{symbol}: {applied:,} archived events replayed (ledger of record at epoch "
                        f"{at['epoch']}, sequence {at['sequence']})")


def replay(db: Database, symbols: tuple[str, ...]) -> Report:
    report = Report()
    balances = issued_balances(db)
    for symbol in symbols:
        replay_symbol(db, symbol, balances, report)
    recorded = {doc["_id"]: _paths(doc) for doc in db[mongo.ACCOUNTS].find({}, {"cash": 1, "positions": 1})}
    for user_id in sorted(set(balances) | set(recorded)):
        mine, theirs = balances.get(user_id, {}), recorded.get(user_id, {})
        for path in sorted(set(mine) | set(theirs)):
            if mine.get(path, 0) != theirs.get(path, 0):
                report.problems.append(f"{user_id} {path}: replayed {mine.get(path, 0)}, "
                                       f"the ledger of record holds {theirs.get(path, 0)}")
    report.facts.append(f"{len(recorded)} accounts compared")
    return report


def _paths(doc: dict) -> dict[str, int]:
    paths = {f"cash.{kind}": amount for kind, amount in (doc.get("cash") or {}).items()}
    for symbol, position in (doc.get("positions") or {}).items():
        paths.update({f"positions.{symbol}.{kind}": amount for kind, amount in position.items()})
    return paths
