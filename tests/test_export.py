"""Export: every history streamed from MongoDB to CSV or Parquet, one row per item; and GET /fills.csv."""
from __future__ import annotations

import csv
import io
import random

import pyarrow.parquet as pq
import pytest

from exchange import mongo
from exchange.export import main
from tests.test_ledger import trade_randomly

pytestmark = pytest.mark.no_request_limit


@pytest.fixture
def history(client, register, archive, monkeypatch, settings):
    users = [register(name) for name in ("alice", "bob", "carol")]
    trade_randomly(client, users, random.Random(31), 200)
    archive()
    monkeypatch.setenv("MONGO_URL", settings.mongo_url)
    monkeypatch.setenv("MONGO_DB", settings.mongo_db)
    return users, archive.db


def read_csv(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_history_exports_one_row_per_item_in_csv_and_parquet(history, tmp_path, capsys):
    _users, db = history
    trades = {doc["_id"]: doc for doc in db[mongo.TRADES].find()}
    assert len(trades) > 20
    assert main(["trades", "--out", str(tmp_path / "trades.csv")]) == 0
    rows = read_csv(tmp_path / "trades.csv")
    assert sorted(row["trade_id"] for row in rows) == sorted(trades) and len(rows) == len(trades)
    some = rows[0]
    assert int(some["price_cents"]) == trades[some["trade_id"]]["price"]
    assert [int(r["time"]) for r in rows] == sorted(int(r["time"]) for r in rows)  # oldest first
    assert main(["trades", "--out", str(tmp_path / "trades.parquet")]) == 0
    table = pq.read_table(tmp_path / "trades.parquet")
    assert table.num_rows == len(trades) and str(table.schema.field("price_cents").type) == "int64"
    assert sorted(table.column("trade_id").to_pylist()) == sorted(trades)
    for kind, count in (("fills", 2 * db[mongo.TRADES].count_documents({})),  # a fill per side of each trade
                        ("orders", db[mongo.ORDERS].count_documents({})),
                        ("events", sum(len(b["events"]) for b in db[mongo.EVENTS].find()))):
        assert count > 0
        assert main([kind, "--out", str(tmp_path / f"{kind}.csv")]) == 0
        assert len(read_csv(tmp_path / f"{kind}.csv")) == count, kind
    assert "written to" in capsys.readouterr().err


def test_symbol_and_time_range_select_what_is_exported(history, tmp_path):
    _users, db = history
    times = sorted(doc["time"] for doc in db[mongo.TRADES].find({"symbol": "KRYP"}))
    start, end = times[len(times) // 3], times[2 * len(times) // 3]
    assert main(["trades", "--symbol", "kryp", "--start", str(start), "--end", str(end),
                 "--out", str(tmp_path / "t.csv")]) == 0
    rows = read_csv(tmp_path / "t.csv")
    assert len(rows) == sum(1 for t in times if start <= t < end) > 0
    assert {row["symbol"] for row in rows} == {"KRYP"}
    events = [e for b in db[mongo.EVENTS].find({"symbol": "KRYP"}) for e in b["events"] if start <= e["time"] < end]
    assert main(["events", "--symbol", "KRYP", "--start", str(start), "--end", str(end),
                 "--out", str(tmp_path / "e.parquet")]) == 0
    assert pq.read_table(tmp_path / "e.parquet").column("sequence").to_pylist() == [e["sequence"] for e in events]


def test_fills_csv_gives_the_caller_their_own_fills(client, history):
    users, db = history
    alice = users[0]
    resp = client.get("/api/v1/fills.csv", headers=alice)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    hers = sorted(f"{t['_id']}:{side}" for t in db[mongo.TRADES].find()
                  for side, user in (("buy", t["buyer_id"]), ("sell", t["seller_id"])) if user == alice.user_id)
    assert sorted(f"{row['trade_id']}:{row['side']}" for row in rows) == hers and hers  # one row per fill of hers
    assert {row["user_id"] for row in rows} == {alice.user_id}
    only = client.get("/api/v1/fills.csv?symbol=ADAM", headers=alice).get_data(as_text=True)
    assert {row["symbol"] for row in csv.DictReader(io.StringIO(only))} <= {"ADAM"}
    assert client.get("/api/v1/fills.csv").status_code == 401
    assert client.get("/api/v1/fills.csv?start=9&end=1", headers=alice).status_code == 400
